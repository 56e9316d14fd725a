//! Lambda entry point of `tasks-cancel`: `POST /api/v1/mcp/tasks/{taskID}/cancel`, audited.

use functions::{api, tasks, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::conversation().await?.audited(), tasks::cancel).await
}
