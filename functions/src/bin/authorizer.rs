//! Lambda entry point of `authorizer`.

use functions::authorizer::handle;
use lambda_runtime::{run, service_fn, Error};
use shared::adapters::dynamodb_keys::DynamoDbKeyStore;
use shared::adapters::dynamodb_ratelimit::DynamoDbRateLimiter;
use shared::auth::authenticate::Authenticator;
use shared::aws::AwsClients;
use shared::{telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format, &config.log_level);
    let clients = AwsClients::load().await;
    let deps = Authenticator {
        store: DynamoDbKeyStore::new(clients.dynamodb.clone(), config.table_name.clone()),
        limiter: DynamoDbRateLimiter::new(clients.dynamodb, config.table_name),
        limits: config.rate_limits,
        jwt: config.jwt,
    };
    run(service_fn(|event| handle(&deps, event))).await
}
