//! Lambda entry point of `prompts-get`: `GET /api/v1/prompts/{name}`.

use functions::registered::get;
use functions::wiring::registry;
use lambda_http::{run, service_fn, Error};
use shared::registered::Kind;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = registry().await?;
    run(service_fn(|req| get(&deps, Kind::Prompt, req))).await
}
