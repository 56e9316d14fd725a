//! Lambda entry point of `resources-subscribe`: `POST /api/v1/resources/{uri}/subscribe`, audited.

use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::resource_subscriptions().await?.audited(), registered::subscribe).await
}
