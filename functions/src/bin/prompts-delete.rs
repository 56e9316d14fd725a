//! Lambda entry point of `prompts-delete`: `DELETE /api/v1/prompts/{name}`, audited.

use functions::api::requests::PromptPath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::registry().await?.audited(), registered::delete::<PromptPath, _>).await
}
