//! Lambda entry point of `keys-list`: `GET /api/v1/keys`.

use functions::{api, keys, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::keys().await?, keys::list).await
}
