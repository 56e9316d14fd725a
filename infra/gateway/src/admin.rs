//! `mcpflow-admin create-key`: the one-off bootstrap of a tenant's first admin key, straight into the
//! table (`make dev` runs it against DynamoDB Local; in AWS run it once with credentials that may write
//! the table). The key is printed once and never stored.

use anyhow::Context as _;
use shared::adapters::dynamodb_keys::DynamoDbKeyStore;
use shared::auth::Role;
use shared::aws::AwsClients;
use shared::key_admin::issue_key;
use shared::tenant::TenantId;

const USAGE: &str = "usage: mcpflow-admin create-key --table TABLE --tenant TENANT [--role admin] [--name NAME]";

/// The `--tenant` value, refused (naming the pattern) unless it is a valid tenant.
fn tenant_arg(value: &str) -> anyhow::Result<TenantId> {
    TenantId::try_from(value).map_err(|e| anyhow::anyhow!("--tenant {value:?} is refused: {e}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    anyhow::ensure!(args.next().as_deref() == Some("create-key"), USAGE);
    let (mut table, mut tenant, mut role, mut name) = (None, None, Role::Admin, "bootstrap".to_owned());
    while let Some(flag) = args.next() {
        let value = args.next().with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--table" => table = Some(value),
            "--tenant" => tenant = Some(tenant_arg(&value)?),
            "--role" => role = value.parse().map_err(anyhow::Error::msg)?,
            "--name" => name = value,
            _ => anyhow::bail!("unknown flag {flag}\n{USAGE}"),
        }
    }
    let (table, tenant) = (table.context(USAGE)?, tenant.context(USAGE)?);
    let store = DynamoDbKeyStore::new(AwsClients::load().await.dynamodb, table);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let created = issue_key(&store, &tenant, &name, role, &now).await?;
    let r = &created.record;
    let shown =
        serde_json::json!({"key_id": r.key_id, "key": created.key.expose(), "tenant": r.tenant, "role": r.role});
    println!("{shown}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_that_breaks_the_pattern_is_refused_naming_the_pattern() {
        assert_eq!(tenant_arg("acme-eu").unwrap().as_str(), "acme-eu");
        let err = tenant_arg("acme#eu").unwrap_err().to_string();
        assert!(err.contains(shared::tenant::TENANT_PATTERN), "{err}");
    }
}
