//! Lambda entry point of `models`: `GET /api/v1/mcp/models`.

use functions::{api, models, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::models().await?, models::list).await
}
