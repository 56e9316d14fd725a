//! Lambda entry point of `health`.

use functions::health::{handle, HealthDeps};
use functions::runtime::run_http;
use lambda_http::{service_fn, Error};
use shared::aws::AwsClients;
use shared::health::aws::AwsDependencyProbe;
use shared::health::Dependency;
use shared::{telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    let config = Config::from_env()?;
    telemetry::init(config.log_format, &config.log_level);
    let clients = AwsClients::from_env().await;
    let deps = HealthDeps {
        probe: AwsDependencyProbe::new(&clients),
        dependencies: Dependency::all(&config),
        version: config.version,
        timeout: config.health_check_timeout,
    };
    // Built once per cold start and used until the environment is frozen for good.
    let deps: &'static _ = Box::leak(Box::new(deps));
    run_http(service_fn(move |req| handle(deps, req))).await
}
