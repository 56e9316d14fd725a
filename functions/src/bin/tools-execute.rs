//! Lambda entry point of `tools-execute`: `POST /api/v1/tools/{name}/execute`.

use functions::registered::execute;
use functions::wiring::registry;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = registry().await?;
    run(service_fn(|req| execute(&deps, req))).await
}
