//! Listing contexts and tasks on DynamoDB: a backwards `Query` of the tenant partition
//! (`TENANT#<tenant>`, sort keys `CONTEXT#<id>` and `TASK#<id>`, ids time-sortable), page by page
//! until a page is full, filtering in code.

use std::collections::HashMap;

use anyhow::anyhow;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use super::dynamodb_contexts::DynamoDbContextStore;
use super::dynamodb_tasks::{task_from_item, DynamoDbTaskStore};
use super::table_keys;
use crate::conversation::listing::{ContextListing, ContextSummary, TaskFilter, TaskListing};
use crate::conversation::model::Task;
use crate::conversation::store::StoreError;

type Item = HashMap<String, AttributeValue>;

/// One page of the partition `pk` under `prefix`, newest first, from after `start`.
async fn page(
    client: &Client,
    table: &str,
    pk: &AttributeValue,
    prefix: &str,
    start: Option<Item>,
) -> Result<QueryOutput, StoreError> {
    let query = client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :p)");
    let query = query
        .expression_attribute_values(":pk", pk.clone())
        .expression_attribute_values(":p", AttributeValue::S(prefix.into()));
    let out = query
        .scan_index_forward(false)
        .set_exclusive_start_key(start)
        .send()
        .await;
    out.map_err(|e| StoreError::Unknown(super::sdk_error(e)))
}

/// Reads the tenant partition's `kind` items (`<kind>#<id>`) backwards from after the id `after` (a
/// caller's cursor, escaped like any key component), keeping what `keep` accepts, until `limit + 1`
/// are kept; returns them with the id of the last of a full page.
async fn backwards<T>(
    client: &Client,
    table: &str,
    tenant: &str,
    kind: &str,
    limit: usize,
    after: Option<&str>,
    keep: impl Fn(&Item) -> Result<Option<(String, T)>, StoreError>,
) -> Result<(Vec<T>, Option<String>), StoreError> {
    let pk = AttributeValue::S(table_keys::tenant_partition(tenant));
    let prefix = table_keys::prefix(&[kind]);
    let mut start: Option<Item> = after.map(|a| {
        HashMap::from([
            ("pk".into(), pk.clone()),
            ("sk".into(), AttributeValue::S(table_keys::join(&[kind, a]))),
        ])
    });
    let mut kept: Vec<(String, T)> = Vec::new();
    loop {
        let out = page(client, table, &pk, &prefix, start).await?;
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

impl ContextListing for DynamoDbContextStore {
    #[tracing::instrument(skip(self))]
    async fn list_contexts(
        &self,
        tenant: &str,
        limit: usize,
        after: Option<&str>,
        now_secs: i64,
    ) -> Result<(Vec<ContextSummary>, Option<String>), StoreError> {
        backwards(self.client(), self.table(), tenant, "CONTEXT", limit, after, |item| {
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
        })
        .await
    }
}

impl TaskListing for DynamoDbTaskStore {
    #[tracing::instrument(skip(self))]
    async fn list_tasks(
        &self,
        tenant: &str,
        filter: &TaskFilter,
        limit: usize,
        after: Option<&str>,
    ) -> Result<(Vec<Task>, Option<String>), StoreError> {
        backwards(self.client(), self.table(), tenant, "TASK", limit, after, |item| {
            let task = task_from_item(tenant, item)?;
            Ok(filter.matches(&task).then(|| (task.task_id.clone(), task)))
        })
        .await
    }
}
