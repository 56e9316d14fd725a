//! Lambda entry point of `contexts-prompt`.

use functions::conversation::prompt;
use functions::wiring::mutating;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let m = mutating().await?;
    run(service_fn(|req| prompt(&m.deps, &m.audit, req))).await
}
