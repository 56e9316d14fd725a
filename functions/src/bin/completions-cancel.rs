//! Lambda entry point of `completions-cancel`: `DELETE /api/v1/completions/{completionID}`, audited.

use functions::{api, completions, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::completions().await?.audited(), completions::cancel).await
}
