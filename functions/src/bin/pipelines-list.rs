//! Lambda entry point of `pipelines-list`: `GET /api/v1/pipelines`.

use functions::{api, pipelines, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::pipelines().await?, pipelines::list).await
}
