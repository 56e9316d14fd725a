//! Lambda entry point of `task-dead-letters`.

// The settle's future, with the DynamoDB stores' inside it, nests past the default layout depth (128).
#![recursion_limit = "256"]

use functions::dead_letters::handle;
use functions::runtime::run_events;
use functions::wiring::aws_deps;
use lambda_runtime::{service_fn, Error};
use shared::aws::AwsClients;
use shared::{telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    let clients = AwsClients::from_env().await;
    let config = Config::from_env()?;
    telemetry::init(config.log_format, &config.log_level);
    let deps = aws_deps(&config, &clients)?;
    run_events(service_fn(|event| handle(&deps, event))).await
}
