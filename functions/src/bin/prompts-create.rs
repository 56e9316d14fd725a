//! Lambda entry point of `prompts-create`: `POST /api/v1/prompts`, audited.

use functions::api::requests::PromptPath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::registry().await?.audited(), registered::create::<PromptPath, _>).await
}
