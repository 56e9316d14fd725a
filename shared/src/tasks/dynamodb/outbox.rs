//! The outbox is an index of the queued task items themselves: a task written to be queued carries
//! `gsi5pk` `OUTBOX#<shard>`, `gsi5sk` `<created ms, 15 digits>#<tenant>#<task id>` and `outbox` (the
//! message's tenant, task, band and group), and the write that starts it removes them, so the
//! create's transaction writes no item of its own and nothing is deleted after the send. Entries
//! spread over [`SHARDS`] index partitions by task id, so a busy system does not write one partition;
//! the sweep reads each shard's oldest entries with one `Query` of the index (`gsi5`, sparse: only the
//! tasks not yet started are in it, and the streamed completions their function took with `take`,
//! until they finish).

use aws_sdk_dynamodb::types::builders::DeleteBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};

use super::{DynamoDbTaskStore, Item};
use crate::contexts::dynamodb::node_item;
use crate::contexts::model::Node;
use crate::conversation::store::StoreError;
use crate::dynamodb::transactions::{transact, Transacted};
use crate::dynamodb::{store_error as fail, table_keys};
use crate::tasks::model::{Band, Task, TaskStatus};
use crate::tasks::stats::on_create;
use crate::tasks::store::{TaskMessage, Unsent};

/// Partitions of the outbox index.
pub const SHARDS: u32 = 8;

/// The outbox index and its key attributes.
const INDEX: &str = "gsi5";
const INDEX_PK: &str = "gsi5pk";
const INDEX_SK: &str = "gsi5sk";
/// The entry's message, projected into the index.
const MESSAGE: &str = "outbox";

/// What an update that takes a task out of the outbox adds to its `REMOVE` clause.
pub(super) const REMOVE_ENTRY: &str = "gsi5pk, gsi5sk, outbox";

fn partition(shard: u32) -> AttributeValue {
    AttributeValue::S(table_keys::outbox_partition(shard))
}

/// A band as the queue names it (`high`, `medium`, `low`: its serde name).
fn band_name(band: Band) -> String {
    serde_json::to_value(band)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Adds the entry's attributes to the task item it belongs to.
fn mark(item: &mut Item, unsent: &Unsent) {
    let m = &unsent.message;
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let shard = table_keys::shard_of(&m.task_id, SHARDS);
    item.insert(INDEX_PK.into(), partition(shard));
    item.insert(
        INDEX_SK.into(),
        s(&table_keys::outbox_sort(unsent.since_ms, &m.tenant, &m.task_id)),
    );
    let message = [
        ("tenant", s(&m.tenant)),
        ("task_id", s(&m.task_id)),
        ("group", s(&unsent.group)),
        ("band", s(&band_name(unsent.band))),
        ("since_ms", AttributeValue::N(unsent.since_ms.to_string())),
    ];
    let message = message.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    item.insert(MESSAGE.into(), AttributeValue::M(message));
}

/// An index item back into its entry; `None` (logged) for an item that is not one.
fn from_entry(item: &Item) -> Option<Unsent> {
    let message = item.get(MESSAGE).and_then(|v| v.as_m().ok());
    let s = |k: &str| message?.get(k).and_then(|v| v.as_s().ok()).cloned();
    let read = || {
        Some(Unsent {
            band: serde_json::from_value(serde_json::Value::String(s("band")?)).ok()?,
            group: s("group")?,
            message: TaskMessage {
                tenant: s("tenant")?,
                task_id: s("task_id")?,
            },
            since_ms: message?.get("since_ms")?.as_n().ok()?.parse().ok()?,
        })
    };
    let entry = read();
    if entry.is_none() {
        tracing::error!(sk = ?item.get(INDEX_SK), "unreadable outbox entry skipped");
    }
    entry
}

fn delete(delete: DeleteBuilder) -> Result<TransactWriteItem, StoreError> {
    let delete = delete.build().map_err(|e| StoreError::Unknown(e.into()))?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

fn put(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(|e| StoreError::Unknown(e.into()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

impl DynamoDbTaskStore {
    /// The write of a node of the task's context into its empty slot (none without a node).
    pub(super) fn node_write(
        &self,
        task: &Task,
        node: Option<(&Node, i64)>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        match (node, task.context_id.as_deref()) {
            (Some((node, expires_at)), Some(context)) => Ok(vec![put(
                self.table(),
                node_item(&task.tenant, context, node, expires_at)?,
            )?]),
            _ => Ok(vec![]),
        }
    }

    /// The task (its outbox entry on it), its user node and its counters in one transaction.
    pub(super) async fn put_queued(
        &self,
        task: &Task,
        node: Option<(&Node, i64)>,
        unsent: &Unsent,
    ) -> Result<(), StoreError> {
        let with = self.node_write(task, node)?;
        let mut item = super::to_item(task)?;
        mark(&mut item, unsent);
        self.create_item(task, item, with).await
    }

    /// [`TaskStore::withdraw`](crate::tasks::store::TaskStore::withdraw): the task's delete first
    /// (its outbox entry goes with it), so its refusal is the answer; the context's bytes last, and
    /// left out when the context is gone.
    pub(super) async fn take_back(&self, task: &Task, prompt: Option<(&Node, u64)>) -> Result<bool, StoreError> {
        let pending = Delete::builder()
            .table_name(self.table())
            .set_key(Some(super::key(&task.tenant, &task.task_id)))
            .condition_expression("#s = :pending")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":pending", AttributeValue::S(TaskStatus::Pending.as_str().into()));
        let adds: Vec<(String, i64)> = on_create(task).into_iter().map(|(k, v)| (k, -v)).collect();
        let mut writes = vec![delete(pending)?, self.stats_update(&task.tenant, &task.task_id, &adds)?];
        let context = task.context_id.as_deref();
        if let (Some((node, bytes)), Some(context)) = (prompt, context) {
            let mut node_key = node_item(&task.tenant, context, node, 0)?;
            node_key.retain(|k, _| k == "pk" || k == "sk");
            writes.push(delete(
                Delete::builder().table_name(self.table()).set_key(Some(node_key)),
            )?);
            let meta = crate::dynamodb::key(
                &table_keys::context_partition(&task.tenant, context),
                table_keys::CONTEXT_META,
            );
            let release = Update::builder()
                .table_name(self.table())
                .set_key(Some(meta))
                .update_expression("ADD content_bytes :minus")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":minus", AttributeValue::N(format!("-{bytes}")))
                .build()
                .map_err(|e| StoreError::Unknown(e.into()))?;
            writes.push(TransactWriteItem::builder().update(release).build());
        }
        let mut releases = writes.len() == 4;
        loop {
            match transact(self.client(), writes.clone()).await? {
                Transacted::Written => return Ok(true),
                // The context went meanwhile (with its nodes): take the rest back without it.
                Transacted::Refused { item: 3 } if releases => {
                    writes.pop();
                    releases = false;
                }
                Transacted::Refused { .. } => return Ok(false),
            }
        }
    }

    /// Takes the task out of the outbox (nothing when it is gone).
    pub(super) async fn delete_entry(&self, unsent: &Unsent) -> Result<(), StoreError> {
        let m = &unsent.message;
        let update = self.client().update_item().table_name(self.table());
        let update = update
            .set_key(Some(super::key(&m.tenant, &m.task_id)))
            .update_expression(format!("REMOVE {REMOVE_ENTRY}"))
            .condition_expression("attribute_exists(pk)");
        match update.send().await {
            Ok(_) => Ok(()),
            Err(e) if crate::dynamodb::condition_failed(&e) => Ok(()),
            Err(e) => Err(fail(e)),
        }
    }

    pub(super) async fn entries_before(&self, before_ms: i64, limit: usize) -> Result<Vec<Unsent>, StoreError> {
        let before = AttributeValue::S(format!("{before_ms:015}"));
        let per_shard = i32::try_from(limit.min(1000)).unwrap_or(1000).max(1);
        let mut found = Vec::new();
        for shard in 0..SHARDS {
            let query = self.client().query().table_name(self.table()).index_name(INDEX);
            let query = query
                .key_condition_expression("#pk = :pk AND #sk < :before")
                .expression_attribute_names("#pk", INDEX_PK)
                .expression_attribute_names("#sk", INDEX_SK)
                .expression_attribute_values(":pk", partition(shard))
                .expression_attribute_values(":before", before.clone())
                .limit(per_shard);
            let out = query.send().await.map_err(fail)?;
            found.extend(out.items().iter().filter_map(from_entry));
        }
        found.sort_by_key(|u| u.since_ms);
        found.truncate(limit);
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_as_written_and_its_shard_is_stable() {
        let unsent = Unsent {
            band: Band::Medium,
            group: "ctx-1".into(),
            message: TaskMessage {
                tenant: "acme".into(),
                task_id: "task-1".into(),
            },
            since_ms: 1_700_000_000_000,
        };
        let mut item = Item::new();
        mark(&mut item, &unsent);
        assert_eq!(from_entry(&item), Some(unsent.clone()));
        assert_eq!(item[MESSAGE].as_m().unwrap()["band"].as_s().unwrap(), "medium");
        // Stable across releases (an entry is deleted under the shard it was written to), and spread.
        let shards: Vec<u32> = ["task-1", "task-2", "task-3", "task-4"]
            .map(|t| table_keys::shard_of(t, SHARDS))
            .to_vec();
        assert_eq!(shards, [1, 2, 3, 4]);
        assert_eq!(item[INDEX_PK].as_s().unwrap(), "OUTBOX#1");
        let sk = item[INDEX_SK].as_s().unwrap().clone();
        assert!(sk.starts_with("001700000000000#acme#task-1"), "{sk}");
    }
}
