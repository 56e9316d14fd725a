//! Lambda entry point of `task-worker`.

use functions::wiring::aws_deps;
use functions::worker::{handle, WorkerSettings};
use lambda_runtime::{run, service_fn, Error};
use shared::aws::AwsClients;
use shared::providers::retry::RetryPolicy;
use shared::secrets::SecretsManager;
use shared::{telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let clients = AwsClients::load().await;
    let config = Config::load(&SecretsManager::new(clients.secrets.clone())).await?;
    telemetry::init(config.log_format, &config.log_level);
    let deps = aws_deps(&config, &clients)?;
    let settings = WorkerSettings {
        task_deadline: config.task_deadline,
        policy: RetryPolicy::default(),
    };
    run(service_fn(|event| handle(&deps, settings, event))).await
}
