//! Lambda entry point of `contexts-delete-node`: `DELETE /api/v1/mcp/contexts/{contextID}/nodes/{nodeID}`, audited.

use functions::{api, contexts, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::conversation().await?.audited(), contexts::delete_node).await
}
