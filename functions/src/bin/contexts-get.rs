//! Lambda entry point of `contexts-get`.

use functions::conversation::get;
use functions::wiring::reading;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = reading().await?;
    run(service_fn(|req| get(&deps, req))).await
}
