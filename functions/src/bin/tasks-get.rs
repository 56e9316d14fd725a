//! Lambda entry point of `tasks-get`.

use functions::conversation::task;
use functions::wiring::reading;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = reading().await?;
    run(service_fn(|req| task(&deps, req))).await
}
