//! Lambda entry point of `keys-create`: `POST /api/v1/keys`, audited.

use functions::{api, keys, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::keys().await?.audited(), keys::create).await
}
