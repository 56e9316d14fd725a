//! Lambda entry point of `audit-list`.

use functions::audit::list;
use functions::wiring::{audit, start};
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (config, clients) = start().await?;
    let deps = audit(&config, &clients);
    run(service_fn(|req| list(&deps, req))).await
}
