//! Lambda entry point of `tasks-submit`: `POST /api/v1/tasks`, audited.

use functions::{api, executions, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::pipeline_runs().await?.audited(), executions::submit).await
}
