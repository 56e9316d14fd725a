//! Lambda entry point of `tasks-cancel`.

use functions::edits::cancel;
use functions::wiring::mutating;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let m = mutating().await?;
    run(service_fn(|req| cancel(&m.deps, &m.audit, req))).await
}
