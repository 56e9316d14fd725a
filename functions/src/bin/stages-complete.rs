//! Lambda entry point of `stages-complete`: `POST /api/v1/tasks/{taskID}/complete`.

use functions::{api, stages, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::pipeline_runs().await?, stages::complete).await
}
