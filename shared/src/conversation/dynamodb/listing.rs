//! Listing contexts and tasks on DynamoDB: a backwards `Query`, page by page until a page is full.
//! Contexts are read from the tenant partition (`TENANT#<tenant>`, sort keys `CONTEXT#<id>`); tasks
//! from the tenant partition (`TASK#<id>`) or one of their indexes (see
//! [`super::tasks::index`]). Ids are time-sortable, so backwards is newest first, and a
//! cursor is the id of the last item of a page.

use std::collections::HashMap;

use anyhow::anyhow;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use super::contexts::DynamoDbContextStore;
use crate::conversation::listing::{ContextListing, ContextSummary};
use crate::conversation::store::StoreError;
use crate::dynamodb::table_keys;

type Item = HashMap<String, AttributeValue>;

/// The tenant partition's items of `kind` (sort keys `<kind>#<id>`), newest first.
pub(crate) fn partition_query(client: &Client, table: &str, tenant: &str, kind: &str) -> QueryFluentBuilder {
    client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
        .expression_attribute_values(":pk", AttributeValue::S(table_keys::tenant_partition(tenant)))
        .expression_attribute_values(":p", AttributeValue::S(table_keys::prefix(&[kind])))
        .scan_index_forward(false)
}

/// The table key of the tenant's item `<kind>#<id>`, where a page after that item starts.
pub(crate) fn table_key(tenant: &str, kind: &str, id: &str) -> Item {
    HashMap::from([
        ("pk".into(), AttributeValue::S(table_keys::tenant_partition(tenant))),
        ("sk".into(), AttributeValue::S(table_keys::join(&[kind, id]))),
    ])
}

/// Runs `query` (newest first) from after `start`, page by page, keeping what `keep` accepts until
/// `limit + 1` are kept; returns them with the id of the last of a full page.
pub(crate) async fn backwards<T>(
    query: QueryFluentBuilder,
    mut start: Option<Item>,
    limit: usize,
    keep: impl Fn(&Item) -> Result<Option<(String, T)>, StoreError>,
) -> Result<(Vec<T>, Option<String>), StoreError> {
    let mut kept: Vec<(String, T)> = Vec::new();
    loop {
        let out = query.clone().set_exclusive_start_key(start).send().await;
        let out = out.map_err(|e| StoreError::Unknown(crate::dynamodb::sdk_error(e)))?;
        for item in out.items() {
            if let Some(found) = keep(item)? {
                kept.push(found);
            }
        }
        start = out.last_evaluated_key().cloned();
        if kept.len() > limit || start.is_none() {
            break;
        }
    }
    let more = kept.len() > limit;
    kept.truncate(limit);
    let last = kept.last().filter(|_| more).map(|(id, _)| id.clone());
    Ok((kept.into_iter().map(|(_, t)| t).collect(), last))
}

/// A context's listing entry as a summary, when it has not expired by `now_secs`.
fn summary(item: &Item, now_secs: i64) -> Result<Option<(String, ContextSummary)>, StoreError> {
    let expires: i64 = item
        .get("expires_at")
        .and_then(|v| v.as_n().ok()?.parse().ok())
        .unwrap_or(0);
    let doc = item
        .get("doc")
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError::Unknown(anyhow!("index without doc")))?;
    let d: serde_json::Value = serde_json::from_str(doc).map_err(|e| StoreError::Unknown(e.into()))?;
    let text = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
    let summary = ContextSummary {
        context_id: text("context_id"),
        model_id: text("model_id"),
        user_id: d["user_id"].as_str().map(str::to_owned),
        created_at: text("created_at"),
        expires_at: expires,
    };
    Ok((expires > now_secs).then(|| (summary.context_id.clone(), summary)))
}

impl ContextListing for DynamoDbContextStore {
    #[tracing::instrument(skip(self))]
    async fn list_contexts(
        &self,
        tenant: &str,
        limit: usize,
        after: Option<&str>,
        now_secs: i64,
    ) -> Result<(Vec<ContextSummary>, Option<String>), StoreError> {
        let query = partition_query(self.client(), self.table(), tenant, "CONTEXT");
        let start = after.map(|a| table_key(tenant, "CONTEXT", a));
        backwards(query, start, limit, |item| summary(item, now_secs)).await
    }
}
