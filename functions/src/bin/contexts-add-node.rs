//! Lambda entry point of `contexts-add-node`.

use functions::edits::add_node;
use functions::wiring::mutating;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let m = mutating().await?;
    run(service_fn(|req| add_node(&m.deps, &m.audit, req))).await
}
