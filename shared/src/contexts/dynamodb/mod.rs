//! [`ContextStore`] on DynamoDB (keys in [`crate::dynamodb`]): a context and its nodes share a
//! partition; creation is one transaction; a node is written at its reserved sequence number only if
//! that slot is empty.

use std::collections::HashMap;

use anyhow::anyhow;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError as ServiceError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use serde_json::{Map, Value};

use crate::contexts::model::{Context, Node};
use crate::contexts::store::{Claim, ContextStore, Quota, Reserved};
use crate::conversation::store::StoreError;
use crate::dynamodb::store_error as fail;
use crate::dynamodb::{s, table_keys, Item};
use crate::tasks::dynamodb::DynamoDbTaskStore;
use crate::tasks::model::Task;

mod edits;
mod listing;
mod quota;
#[cfg(test)]
mod tests;

/// Contexts in the mcpflow table.
#[derive(Debug, Clone)]
pub struct DynamoDbContextStore {
    client: Client,
    table: String,
}

impl DynamoDbContextStore {
    #[must_use]
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn table(&self) -> &str {
        &self.table
    }
}

/// The tenant's index entry of a context, for listing (`TENANT#<tenant>` / `CONTEXT#<id>`).
fn index_item(c: &Context) -> Item {
    let doc = serde_json::json!({"context_id": c.context_id, "model_id": c.model_id, "user_id": c.user_id,
        "created_at": c.created_at});
    HashMap::from([
        ("pk".into(), s(&table_keys::tenant_partition(&c.tenant))),
        ("sk".into(), s(&table_keys::context_entry_sort(&c.context_id))),
        ("doc".into(), s(&doc.to_string())),
        ("expires_at".into(), AttributeValue::N(c.expires_at.to_string())),
    ])
}

/// `CTX#<tenant>#<context id>`, each component escaped: tenant `a#b` with id `c` and tenant `a` with
/// id `b#c` are different partitions.
fn pk(tenant: &str, id: &str) -> AttributeValue {
    s(&table_keys::context_partition(tenant, id))
}

fn meta_item(c: &Context) -> Item {
    let doc = serde_json::json!({"context_id": c.context_id, "model_id": c.model_id, "user_id": c.user_id,
        "metadata": c.metadata, "created_at": c.created_at});
    HashMap::from([
        ("pk".into(), pk(&c.tenant, &c.context_id)),
        ("sk".into(), s(table_keys::CONTEXT_META)),
        ("doc".into(), s(&doc.to_string())),
        ("updated_at".into(), s(&c.updated_at)),
        ("next_seq".into(), AttributeValue::N((c.nodes.len() + 1).to_string())),
        ("content_bytes".into(), AttributeValue::N(c.content_bytes().to_string())),
        ("expires_at".into(), AttributeValue::N(c.expires_at.to_string())),
    ])
}

pub(crate) fn node_item(tenant: &str, id: &str, n: &Node, expires_at: i64) -> Result<Item, StoreError> {
    let doc = serde_json::to_string(n).map_err(|e| StoreError::Unknown(e.into()))?;
    Ok(HashMap::from([
        ("pk".into(), pk(tenant, id)),
        ("sk".into(), s(&table_keys::node_sort(n.seq))),
        ("doc".into(), s(&doc)),
        ("expires_at".into(), AttributeValue::N(expires_at.to_string())),
    ]))
}

/// An item's sort key (empty when it has none).
fn sort_key(item: &Item) -> &str {
    item.get("sk").and_then(|v| v.as_s().ok()).map_or("", String::as_str)
}

impl DynamoDbContextStore {
    /// Every item of the context's partition; only the attributes `projection` names, when it names
    /// some. The whole read (a context's `GET`) is strongly consistent; a projected one (the keys a
    /// delete removes) is eventually consistent, at half the read cost.
    async fn partition_items(&self, tenant: &str, id: &str, projection: Option<&str>) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", pk(tenant, id))
            .consistent_read(projection.is_none())
            .set_projection_expression(projection.map(str::to_owned));
        let pages = query.into_paginator().items().send();
        pages.collect::<Result<Vec<_>, _>>().await.map_err(fail)
    }
}

fn doc(item: &Item) -> Result<Value, StoreError> {
    let text = item
        .get("doc")
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError::Unknown(anyhow!("item without doc")))?;
    serde_json::from_str(text).map_err(|e| StoreError::Unknown(e.into()))
}

fn number(item: &Item, key: &str) -> i64 {
    crate::dynamodb::number(item, key).unwrap_or(0)
}

/// What a reservation read of the context's META item (its state before the update).
fn reserved(meta: &Item) -> Result<Reserved, StoreError> {
    let first = u64::try_from(number(meta, "next_seq")).ok().filter(|n| *n > 0);
    let first = first.ok_or_else(|| StoreError::Unknown(anyhow!("context without next_seq")))?;
    let model_id = doc(meta)?["model_id"].as_str().unwrap_or_default().to_owned();
    Ok(Reserved {
        first,
        model_id,
        expires_at: number(meta, "expires_at"),
    })
}

/// Why a reservation's condition failed, from the context as it was (if it exists).
fn why_not_reserved(old: Option<&Item>, claim: Claim, now_s: i64) -> StoreError {
    match old {
        Some(old) if number(old, "expires_at") > now_s => {
            let last = (claim.max_nodes + 1).saturating_sub(claim.count);
            if number(old, "next_seq") > i64::try_from(last).unwrap_or(i64::MAX) {
                StoreError::LimitReached(usize::try_from(claim.max_nodes).unwrap_or(usize::MAX))
            } else {
                StoreError::SizeReached(claim.max_bytes)
            }
        }
        _ => StoreError::NotFound,
    }
}

fn context_from(tenant: &str, meta: &Item, nodes: Vec<Node>) -> Result<Context, StoreError> {
    let d = doc(meta)?;
    let text = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
    Ok(Context {
        context_id: text("context_id"),
        tenant: tenant.to_owned(),
        model_id: text("model_id"),
        user_id: d["user_id"].as_str().map(str::to_owned),
        metadata: d["metadata"].as_object().cloned().unwrap_or_else(Map::new),
        created_at: text("created_at"),
        updated_at: meta
            .get("updated_at")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default(),
        expires_at: meta
            .get("expires_at")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        nodes,
    })
}

impl DynamoDbContextStore {
    fn put(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)");
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(|e| StoreError::Unknown(e.into()))?)
            .build())
    }
}

/// How long a context create goes on trying when other creates of the same principal keep changing
/// its quota item (well within the HTTP functions' 10 s timeout).
const QUOTA_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// Index of the quota item's write in a create's transaction.
const QUOTA_ITEM: usize = 2;

/// Whether a create's transaction was cancelled only because another create changed the quota item
/// first (or by contention or throttling): worth trying again, unlike any other cancellation.
fn lost_a_turn<R>(
    e: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
) -> bool {
    use crate::dynamodb::transactions::{reasons, TRANSIENT};
    reasons(e).is_some_and(|reasons| {
        let quota_changed = reasons
            .get(QUOTA_ITEM)
            .is_some_and(|r| r.as_deref() == Some("ConditionalCheckFailed"));
        let others_fine = reasons
            .iter()
            .enumerate()
            .all(|(i, r)| i == QUOTA_ITEM || r.as_deref().is_none_or(|code| TRANSIENT.contains(&code)));
        (quota_changed || reasons.iter().flatten().any(|r| TRANSIENT.contains(&r.as_str()))) && others_fine
    })
}

impl ContextStore for DynamoDbContextStore {
    /// One transaction: the context, its listing entry, its principal's quota, its nodes, and the
    /// task that records it with its counters. A concurrent create of the same principal moves the
    /// quota's version on; then the quota is read again.
    #[tracing::instrument(skip(self, context, quota, record), fields(context_id = %context.context_id))]
    async fn create(&self, context: &Context, quota: &Quota, record: &Task) -> Result<(), StoreError> {
        let mut meta = meta_item(context);
        meta.insert("quota_sk".into(), s(&table_keys::quota_sort(&quota.owner)));
        let tasks = DynamoDbTaskStore::new(self.client.clone(), self.table.clone());
        let recorded = tasks.creation_writes(record)?;
        let (mut attempt, started) = (0, std::time::Instant::now());
        loop {
            attempt += 1;
            let claim = self
                .claim(&context.tenant, &context.context_id, context.expires_at, quota)
                .await?;
            let mut writes = vec![self.put(meta.clone())?, self.put(index_item(context))?, claim];
            for n in &context.nodes {
                writes.push(self.put(node_item(&context.tenant, &context.context_id, n, context.expires_at)?)?);
            }
            writes.extend(recorded.iter().cloned());
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send()
                .await
            {
                Ok(_) => return Ok(()),
                // Every create of one principal meets on its quota item: many at once take turns,
                // so one that lost (the quota item changed, or a conflict) tries again, spread out.
                Err(e) if lost_a_turn(&e) => {
                    if started.elapsed() >= QUOTA_PATIENCE {
                        return Err(StoreError::Unknown(anyhow::Error::new(crate::error::Unavailable {
                            detail: format!("the quota item kept changing ({attempt} tries)"),
                        })));
                    }
                    tokio::time::sleep(crate::dynamodb::transactions::contention_backoff(attempt)).await;
                }
                Err(e) => return Err(fail(e)),
            }
        }
    }

    #[tracing::instrument(skip(self))]
    async fn get(&self, tenant: &str, id: &str) -> Result<Option<Context>, StoreError> {
        let items = self.partition_items(tenant, id, None).await?;
        let Some(meta) = items.iter().find(|i| sort_key(i) == table_keys::CONTEXT_META) else {
            return Ok(None);
        };
        let nodes = items
            .iter()
            .filter(|i| sort_key(i).starts_with(&table_keys::prefix(&["NODE"])))
            .map(|i| serde_json::from_value(doc(i)?).map_err(|e| StoreError::Unknown(e.into())))
            .collect::<Result<Vec<Node>, StoreError>>()?;
        context_from(tenant, meta, nodes).map(Some)
    }

    #[tracing::instrument(skip(self))]
    async fn reserve(&self, tenant: &str, id: &str, claim: Claim, now: (&str, i64)) -> Result<Reserved, StoreError> {
        let last = (claim.max_nodes + 1).saturating_sub(claim.count);
        let room = claim.max_bytes.saturating_sub(claim.bytes);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", pk(tenant, id))
            .key("sk", s(table_keys::CONTEXT_META));
        // A context written before sizes were counted has no content_bytes yet: it counts from 0.
        let update = update
            .update_expression(
                "SET next_seq = next_seq + :n, updated_at = :now, \
                 content_bytes = if_not_exists(content_bytes, :zero) + :bytes",
            )
            .condition_expression(
                "attribute_exists(pk) AND expires_at > :now_s AND next_seq <= :last \
                 AND (attribute_not_exists(content_bytes) OR content_bytes <= :room)",
            )
            .expression_attribute_values(":last", AttributeValue::N(last.to_string()))
            .expression_attribute_values(":room", AttributeValue::N(room.to_string()))
            .expression_attribute_values(":bytes", AttributeValue::N(claim.bytes.to_string()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":n", AttributeValue::N(claim.count.to_string()))
            .expression_attribute_values(":now", s(now.0))
            .expression_attribute_values(":now_s", AttributeValue::N(now.1.to_string()))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        match update.send().await {
            Ok(out) => reserved(out.attributes().unwrap_or(&HashMap::new())),
            // The old item comes back when the context exists: then it expired, is full or too large.
            Err(e) => match e.as_service_error() {
                Some(ServiceError::ConditionalCheckFailedException(c)) => Err(why_not_reserved(c.item(), claim, now.1)),
                _ => Err(fail(e)),
            },
        }
    }

    #[tracing::instrument(skip(self, node), fields(seq = node.seq))]
    async fn put_node(&self, tenant: &str, id: &str, node: &Node, expires_at: i64) -> Result<bool, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(node_item(tenant, id, node, expires_at)?));
        match put.condition_expression("attribute_not_exists(pk)").send().await {
            Ok(_) => Ok(true),
            Err(e) if crate::dynamodb::condition_failed(&e) => Ok(false),
            Err(e) => Err(fail(e)),
        }
    }
}
