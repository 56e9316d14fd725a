//! Lambda entry point of `prompts-list`: `GET /api/v1/prompts`.

use functions::api::requests::PromptPath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::registry().await?, registered::list::<PromptPath, _>).await
}
