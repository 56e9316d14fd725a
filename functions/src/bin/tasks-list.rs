//! Lambda entry point of `tasks-list`: `GET /api/v1/mcp/tasks`.

use functions::{api, tasks, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::conversation().await?, tasks::list).await
}
