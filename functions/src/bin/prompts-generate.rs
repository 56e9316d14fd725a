//! Lambda entry point of `prompts-generate`: `POST /api/v1/prompts/{name}/generate`.

use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::registry().await?, registered::generate).await
}
