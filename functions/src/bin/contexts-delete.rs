//! Lambda entry point of `contexts-delete`: `DELETE /api/v1/mcp/contexts/{contextID}`, audited.

use functions::{api, contexts, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::conversation().await?.audited(), contexts::delete).await
}
