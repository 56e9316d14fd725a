//! Lambda entry point of `prompts-delete`: `DELETE /api/v1/prompts/{name}`, audited.

use functions::api::requests::PromptPath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::registry().await?.audited(), registered::delete::<PromptPath, _>).await
}
