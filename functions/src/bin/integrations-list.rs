//! Lambda entry point of `integrations-list`: `GET /api/v1/integrations`.

use functions::{api, integrations, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::integrations().await?, integrations::list).await
}
