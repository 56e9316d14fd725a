//! Lambda entry point of `keys-revoke`.

use functions::keys::{revoke, KeyDeps};
use functions::wiring::{audit, start};
use lambda_http::{run, service_fn, Error};
use shared::keys::dynamodb::DynamoDbKeyStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (config, clients) = start().await?;
    let audit = audit(&config, &clients);
    let deps = KeyDeps {
        store: DynamoDbKeyStore::new(clients.dynamodb, config.table_name),
        audit,
    };
    run(service_fn(|req| revoke(&deps, req))).await
}
