//! Lambda entry point of `contexts-create`: `POST /api/v1/mcp/contexts`, audited.

use functions::{api, contexts, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::conversation().await?.audited(), contexts::create).await
}
