//! Lambda entry point of `authorizer`: the HTTP API's Lambda authorizer.

use functions::authorizer::handle;
use functions::runtime::run_events;
use functions::wiring::{authenticator, start_with_secrets};
use lambda_runtime::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    let (config, clients) = start_with_secrets().await?;
    let deps = authenticator(&config, &clients);
    run_events(service_fn(|event| handle(&deps, event))).await
}
