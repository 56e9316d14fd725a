//! Lambda entry point of `tasks-get`: `GET /api/v1/mcp/tasks/{taskID}`.

use functions::{api, tasks, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::conversation().await?, tasks::get).await
}
