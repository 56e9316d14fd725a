//! Lambda entry point of `completions-create`: `POST /api/v1/completions`, audited.

use functions::{api, completions, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::completions().await?.audited(), completions::create).await
}
