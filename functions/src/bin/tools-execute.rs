//! Lambda entry point of `tools-execute`: `POST /api/v1/tools/{name}/execute`, audited.

use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::registry().await?.audited(), registered::execute).await
}
