//! Lambda entry point of `contexts-list`.

use functions::conversation::aws_deps;
use functions::listing::contexts;
use lambda_http::{run, service_fn, Error};
use shared::aws::AwsClients;
use shared::{telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format, &config.log_level);
    let clients = AwsClients::load().await;
    let deps = aws_deps(&config, &clients)?;
    run(service_fn(|req| contexts(&deps, req))).await
}
