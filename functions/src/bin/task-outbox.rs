//! Lambda entry point of `task-outbox`.

use functions::outbox::handle;
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
    run_events(service_fn(|event| handle(&deps, config.outbox_grace, event))).await
}
