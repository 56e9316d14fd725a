//! Lambda entry point of `tools-list`: `GET /api/v1/tools`.

use functions::registered::list;
use functions::wiring::registry;
use lambda_http::{run, service_fn, Error};
use shared::registered::Kind;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = registry().await?;
    run(service_fn(|req| list(&deps, Kind::Tool, req))).await
}
