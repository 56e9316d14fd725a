//! Lambda entry point of `contexts-add-node`: `POST /api/v1/mcp/contexts/{contextID}/nodes`, audited.

use functions::{api, contexts, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::conversation().await?.audited(), contexts::add_node).await
}
