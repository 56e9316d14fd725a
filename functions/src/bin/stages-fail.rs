//! Lambda entry point of `stages-fail`: `POST /api/v1/tasks/{taskID}/fail`.

use functions::{api, stages, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::pipeline_runs().await?, stages::fail).await
}
