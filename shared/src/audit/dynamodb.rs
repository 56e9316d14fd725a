//! [`AuditLog`] on DynamoDB; the item layout is documented in [`crate::audit`].

use std::collections::HashMap;

use anyhow::Context as _;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use crate::audit::{encode_cursor, AuditEntry, AuditLog, AuditPage, Outcome};
use crate::dynamodb::{s, table_keys};

/// Audit entries in the mcpflow table.
#[derive(Debug, Clone)]
pub struct DynamoDbAuditLog {
    client: Client,
    table: String,
}

impl DynamoDbAuditLog {
    #[must_use]
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

fn to_item(e: &AuditEntry) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::from([
        ("pk".to_owned(), s(&table_keys::audit_partition(&e.tenant))),
        ("sk".to_owned(), s(&e.sort_key())),
        ("tenant".to_owned(), s(&e.tenant)),
        ("subject".to_owned(), s(&e.subject)),
        ("action".to_owned(), s(&e.action)),
        ("outcome".to_owned(), s(e.outcome.as_str())),
        ("status".to_owned(), AttributeValue::N(e.status.to_string())),
        ("request_id".to_owned(), s(&e.request_id)),
        ("at".to_owned(), s(&e.at)),
        ("expires_at".to_owned(), AttributeValue::N(e.expires_at.to_string())),
    ]);
    if let Some(target) = &e.target {
        item.insert("target".to_owned(), s(target));
    }
    item
}

fn from_item(item: &HashMap<String, AttributeValue>) -> anyhow::Result<AuditEntry> {
    let get = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let need = |k: &str| get(k).with_context(|| format!("audit item without {k}"));
    let status: u16 = item
        .get("status")
        .and_then(|v| v.as_n().ok())
        .context("audit item without status")?
        .parse()?;
    Ok(AuditEntry {
        tenant: need("tenant")?,
        subject: need("subject")?,
        action: need("action")?,
        target: get("target"),
        outcome: match need("outcome")?.as_str() {
            "succeeded" => Outcome::Succeeded,
            "denied" => Outcome::Denied,
            _ => Outcome::Failed,
        },
        status,
        request_id: need("request_id")?,
        at: need("at")?,
        expires_at: item
            .get("expires_at")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    })
}

impl AuditLog for DynamoDbAuditLog {
    #[tracing::instrument(skip(self, entry), fields(tenant = %entry.tenant, action = %entry.action))]
    async fn record(&self, entry: &AuditEntry) -> anyhow::Result<()> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(entry)));
        put.send().await.map(drop).map_err(crate::dynamodb::sdk_error)
    }

    #[tracing::instrument(skip(self))]
    async fn list(&self, tenant: &str, limit: usize, after: Option<&str>) -> anyhow::Result<AuditPage> {
        let pk = table_keys::audit_partition(tenant);
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(&pk))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(100));
        if let Some(sk) = after {
            query = query.exclusive_start_key("pk", s(&pk)).exclusive_start_key("sk", s(sk));
        }
        let out = query.send().await.map_err(crate::dynamodb::sdk_error)?;
        let entries = out.items().iter().map(from_item).collect::<anyhow::Result<Vec<_>>>()?;
        let next_cursor = out
            .last_evaluated_key()
            .and_then(|k| k.get("sk"))
            .and_then(|v| v.as_s().ok())
            .map(|sk| encode_cursor(sk));
        Ok(AuditPage { entries, next_cursor })
    }
}
