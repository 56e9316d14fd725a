//! Lambda entry point of `keys-revoke`.

use functions::audit::AuditDeps;
use functions::keys::{revoke, KeyDeps};
use lambda_http::{run, service_fn, Error};
use shared::adapters::dynamodb_audit::DynamoDbAuditLog;
use shared::adapters::dynamodb_keys::DynamoDbKeyStore;
use shared::aws::AwsClients;
use shared::{telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format, &config.log_level);
    let clients = AwsClients::load().await;
    let deps = KeyDeps {
        store: DynamoDbKeyStore::new(clients.dynamodb.clone(), config.table_name.clone()),
        audit: AuditDeps {
            log: DynamoDbAuditLog::new(clients.dynamodb, config.table_name),
            ttl_days: config.audit_ttl_days,
        },
    };
    run(service_fn(|req| revoke(&deps, req))).await
}
