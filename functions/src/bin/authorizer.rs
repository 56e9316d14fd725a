//! Lambda entry point of `authorizer`.

use functions::authorizer::handle;
use lambda_runtime::{run, service_fn, Error};
use shared::auth::authenticate::Authenticator;
use shared::aws::AwsClients;
use shared::keys::dynamodb::DynamoDbKeyStore;
use shared::ratelimit::dynamodb::DynamoDbRateLimiter;
use shared::secrets::SecretsManager;
use shared::{telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let clients = AwsClients::load().await;
    let config = Config::load(&SecretsManager::new(clients.secrets.clone())).await?;
    telemetry::init(config.log_format, &config.log_level);
    let deps = Authenticator {
        store: DynamoDbKeyStore::new(clients.dynamodb.clone(), config.table_name.clone()),
        limiter: DynamoDbRateLimiter::new(clients.dynamodb, config.table_name),
        limits: config.rate_limits,
        jwt: config.jwt,
    };
    run(service_fn(|event| handle(&deps, event))).await
}
