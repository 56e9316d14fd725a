//! Lambda entry point of `system-metrics`: `GET /api/v1/metrics`.

use functions::{api, system, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::system().await?, system::metrics).await
}
