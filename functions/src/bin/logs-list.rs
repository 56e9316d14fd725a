//! Lambda entry point of `logs-list`: `GET /api/v1/logs`.

use functions::{api, logs, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::logs().await?, logs::list).await
}
