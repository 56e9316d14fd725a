//! Lambda entry point of `resources-subscribe`: `POST /api/v1/resources/{uri}/subscribe`, audited.

use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::resource_subscriptions().await?.audited(), registered::subscribe).await
}
