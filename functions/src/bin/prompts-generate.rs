//! Lambda entry point of `prompts-generate`: `POST /api/v1/prompts/{name}/generate`.

use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::registry().await?, registered::generate).await
}
