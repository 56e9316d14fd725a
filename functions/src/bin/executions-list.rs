//! Lambda entry point of `executions-list`: `GET /api/v1/pipelines/{pipelineID}/executions`.

use functions::{api, executions, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::pipeline_runs().await?, executions::list).await
}
