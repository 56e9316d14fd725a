//! Lambda entry point of `tasks-list`: `GET /api/v1/mcp/tasks`.

use functions::{api, tasks, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::conversation().await?, tasks::list).await
}
