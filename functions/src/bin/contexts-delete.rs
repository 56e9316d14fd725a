//! Lambda entry point of `contexts-delete`.

use functions::audit::AuditDeps;
use functions::conversation::aws_deps;
use functions::edits::delete_context;
use lambda_http::{run, service_fn, Error};
use shared::adapters::dynamodb_audit::DynamoDbAuditLog;
use shared::aws::AwsClients;
use shared::{telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format, &config.log_level);
    let clients = AwsClients::load().await;
    let deps = aws_deps(&config, &clients)?;
    let audit = AuditDeps {
        log: DynamoDbAuditLog::new(clients.dynamodb, config.table_name),
        ttl_days: config.audit_ttl_days,
    };
    run(service_fn(|req| delete_context(&deps, &audit, req))).await
}
