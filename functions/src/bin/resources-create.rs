//! Lambda entry point of `resources-create`: `POST /api/v1/resources`.

use functions::registered::create;
use functions::wiring::registry;
use lambda_http::{run, service_fn, Error};
use shared::registered::Kind;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = registry().await?;
    run(service_fn(|req| create(&deps, Kind::Resource, req))).await
}
