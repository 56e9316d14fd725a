//! Lambda entry point of `contexts-delete`.

use functions::edits::delete_context;
use functions::wiring::mutating;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let m = mutating().await?;
    run(service_fn(|req| delete_context(&m.deps, &m.audit, req))).await
}
