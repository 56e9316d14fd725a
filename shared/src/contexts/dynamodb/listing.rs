//! Listing contexts on DynamoDB: the tenant partition's listing entries (`CONTEXT#<id>`), newest
//! first, through [`crate::dynamodb::pages`]; a cursor is the id of the last context of a page.

use anyhow::anyhow;

use super::DynamoDbContextStore;
use crate::contexts::listing::{ContextListing, ContextSummary};
use crate::conversation::store::StoreError;
use crate::dynamodb::pages::{backwards, partition_query, start_after};
use crate::dynamodb::{number, Item};

/// A context's listing entry as a summary, when it has not expired by `now_secs`.
fn summary(item: &Item, now_secs: i64) -> Result<Option<(String, ContextSummary)>, StoreError> {
    let expires = number(item, "expires_at").unwrap_or(0);
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
        let start = after.map(|a| start_after(tenant, "CONTEXT", a));
        backwards(query, start, limit, |item| summary(item, now_secs)).await
    }
}
