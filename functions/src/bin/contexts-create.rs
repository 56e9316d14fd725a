//! Lambda entry point of `contexts-create`.

use functions::conversation::create;
use functions::wiring::mutating;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let m = mutating().await?;
    run(service_fn(|req| create(&m.deps, &m.audit, req))).await
}
