//! Lambda entry point of `prompts-list`: `GET /api/v1/prompts`.

use functions::registered::list;
use functions::wiring::registry;
use lambda_http::{run, service_fn, Error};
use shared::registered::Kind;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = registry().await?;
    run(service_fn(|req| list(&deps, Kind::Prompt, req))).await
}
