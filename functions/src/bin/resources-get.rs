//! Lambda entry point of `resources-get`: `GET /api/v1/resources/{uri}`.

use functions::registered::get;
use functions::wiring::registry;
use lambda_http::{run, service_fn, Error};
use shared::registered::Kind;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = registry().await?;
    run(service_fn(|req| get(&deps, Kind::Resource, req))).await
}
