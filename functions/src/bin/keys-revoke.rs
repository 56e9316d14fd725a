//! Lambda entry point of `keys-revoke`: `DELETE /api/v1/keys/{keyID}`, audited.

use functions::{api, keys, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::keys_revoke().await?.audited(), keys::revoke).await
}
