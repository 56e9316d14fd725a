//! Lambda entry point of `tasks-cancel`: `POST /api/v1/mcp/tasks/{taskID}/cancel`, audited.

use functions::{api, tasks, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::conversation().await?.audited(), tasks::cancel).await
}
