//! Lambda entry point of `contexts-prompt`: `POST /api/v1/mcp/contexts/{contextID}/prompt`, audited.

use functions::{api, contexts, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::conversation().await?.audited(), contexts::prompt).await
}
