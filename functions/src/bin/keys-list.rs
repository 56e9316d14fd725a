//! Lambda entry point of `keys-list`.

use functions::keys::list;
use lambda_http::{run, service_fn, Error};
use shared::aws::AwsClients;
use shared::keys::dynamodb::DynamoDbKeyStore;
use shared::{telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format, &config.log_level);
    let clients = AwsClients::load().await;
    let store = DynamoDbKeyStore::new(clients.dynamodb, config.table_name);
    run(service_fn(|req| list(&store, req))).await
}
