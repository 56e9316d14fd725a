//! Lambda entry point of `tasks-list`.

use functions::listing::tasks;
use functions::wiring::reading;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = reading().await?;
    run(service_fn(|req| tasks(&deps, req))).await
}
