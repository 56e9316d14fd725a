//! Lambda entry point of `tools-delete`: `DELETE /api/v1/tools/{name}`.

use functions::registered::delete;
use functions::wiring::registry;
use lambda_http::{run, service_fn, Error};
use shared::registered::Kind;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = registry().await?;
    run(service_fn(|req| delete(&deps, Kind::Tool, req))).await
}
