//! Lambda entry point of `pipelines-create`: `POST /api/v1/pipelines`, audited.

use functions::{api, pipelines, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::pipelines().await?.audited(), pipelines::create).await
}
