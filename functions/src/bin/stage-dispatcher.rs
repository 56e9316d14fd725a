//! Lambda entry point of `stage-dispatcher`: the pipeline state machine's messages on the stage queue.

use functions::dispatcher::handle;
use functions::runtime::run_events;
use functions::wiring;
use lambda_runtime::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    let (runs, redelivery) = wiring::dispatcher().await?;
    run_events(service_fn(|event| handle(&runs, &redelivery, event))).await
}
