//! Lambda entry point of `integrations-get`: `GET /api/v1/integrations/{integrationID}`.

use functions::{api, integrations, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::integrations().await?, integrations::get).await
}
