//! Lambda entry point of `models`: `GET /api/v1/mcp/models`.

use functions::{api, models, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::models().await?, models::list).await
}
