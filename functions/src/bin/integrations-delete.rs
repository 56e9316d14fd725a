//! Lambda entry point of `integrations-delete`: `DELETE /api/v1/integrations/{integrationID}`, audited.

use functions::{api, integrations, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::integrations().await?.audited(), integrations::delete).await
}
