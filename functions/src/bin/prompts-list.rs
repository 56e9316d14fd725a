//! Lambda entry point of `prompts-list`: `GET /api/v1/prompts`.

use functions::api::requests::PromptPath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::registry().await?, registered::list::<PromptPath, _>).await
}
