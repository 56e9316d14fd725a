//! Lambda entry point of `prompts-generate`: `POST /api/v1/prompts/{name}/generate`.

use functions::registered::generate;
use functions::wiring::registry;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = registry().await?;
    run(service_fn(|req| generate(&deps, req))).await
}
