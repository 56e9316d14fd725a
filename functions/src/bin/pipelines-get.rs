//! Lambda entry point of `pipelines-get`: `GET /api/v1/pipelines/{pipelineID}`.

use functions::{api, pipelines, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::pipelines().await?, pipelines::get).await
}
