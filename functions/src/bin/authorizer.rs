//! Lambda entry point of `authorizer`.

use functions::authorizer::{handle, AuthorizerDeps};
use lambda_runtime::{run, service_fn, Error};
use shared::adapters::dynamodb_keys::DynamoDbKeyStore;
use shared::aws::AwsClients;
use shared::{telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format, &config.log_level);
    let clients = AwsClients::load().await;
    let deps = AuthorizerDeps {
        store: DynamoDbKeyStore::new(clients.dynamodb, config.table_name),
        jwt: config.jwt,
    };
    run(service_fn(|event| handle(&deps, event))).await
}
