//! Lambda entry point of `contexts-delete-node`.

use functions::edits::delete_node;
use functions::wiring::mutating;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let m = mutating().await?;
    run(service_fn(|req| delete_node(&m.deps, &m.audit, req))).await
}
