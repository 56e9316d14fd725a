//! Lambda entry point of `keys-list`: `GET /api/v1/keys`.

use functions::{api, keys, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::keys().await?, keys::list).await
}
