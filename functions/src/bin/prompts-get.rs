//! Lambda entry point of `prompts-get`: `GET /api/v1/prompts/{name}`.

use functions::api::requests::PromptPath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::registry().await?, registered::get::<PromptPath, _>).await
}
