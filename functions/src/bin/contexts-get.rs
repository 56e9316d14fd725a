//! Lambda entry point of `contexts-get`: `GET /api/v1/mcp/contexts/{contextID}`.

use functions::{api, contexts, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::conversation().await?, contexts::get).await
}
