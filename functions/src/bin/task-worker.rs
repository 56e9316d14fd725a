//! Lambda entry point of `task-worker`.

use functions::runtime::run_events;
use functions::wiring::{aws_deps, running_tools, start_with_secrets, task_events};
use functions::worker::{handle, WorkerSettings};
use lambda_runtime::{service_fn, Error};
use shared::providers::retry::RetryPolicy;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    let (config, clients) = start_with_secrets().await?;
    let deps = running_tools(aws_deps(&config, &clients)?, &config, &clients);
    let events = task_events(&config, &clients);
    let settings = WorkerSettings {
        task_deadline: config.task_deadline,
        policy: RetryPolicy::default(),
    };
    run_events(service_fn(|event| handle(&deps, settings, &events, event))).await
}
