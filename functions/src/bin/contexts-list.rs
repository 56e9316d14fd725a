//! Lambda entry point of `contexts-list`.

use functions::listing::contexts;
use functions::wiring::reading;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = reading().await?;
    run(service_fn(|req| contexts(&deps, req))).await
}
