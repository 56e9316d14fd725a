//! [`TaskStore`] on DynamoDB (keys and indexes in [`index`]). `start`, `finish` and `cancel` are
//! conditional writes on the status, so repeated or concurrent deliveries cannot apply a change twice;
//! each rewrites the status index key in the same write.

use std::collections::HashMap;

use anyhow::anyhow;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;

use crate::contexts::model::Node;

use crate::conversation::store::StoreError;
use crate::dynamodb::store_error as fail;
use crate::dynamodb::{table_keys, Item};
use crate::tasks::model::{Task, TaskStatus};
use crate::tasks::stats as counters;
use crate::tasks::store::{Finish, Start, TaskCancel, TaskStore, Unsent};

pub mod index;
mod listing;
mod outbox;
mod stages;
pub(crate) mod stats;
#[cfg(test)]
mod tests;

/// Tasks in the mcpflow table.
#[derive(Debug, Clone)]
pub struct DynamoDbTaskStore {
    client: Client,
    table: String,
}

impl DynamoDbTaskStore {
    #[must_use]
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    /// Puts a new task, counts it, and writes `with`, in one transaction.
    async fn create_with(&self, task: &Task, with: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        self.create_item(task, to_item(task)?, with).await
    }

    /// A new task's writes, for another store's transaction: the task (only if it is new) and its
    /// counters.
    pub(crate) fn creation_writes(&self, task: &Task) -> Result<[TransactWriteItem; 2], StoreError> {
        let put = Put::builder()
            .condition_expression("attribute_not_exists(pk)")
            .table_name(&self.table)
            .set_item(Some(to_item(task)?))
            .build()
            .map_err(|e| StoreError::Unknown(e.into()))?;
        let ids = (task.tenant.as_str(), task.task_id.as_str());
        Ok([
            TransactWriteItem::builder().put(put).build(),
            self.stats_update(ids.0, ids.1, &counters::on_create(task))?,
        ])
    }

    /// [`Self::create_with`], the task written as `item`.
    async fn create_item(&self, task: &Task, item: Item, with: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        let condition = Put::builder().condition_expression("attribute_not_exists(pk)");
        let adds = counters::on_create(task);
        let ids = (task.tenant.as_str(), task.task_id.as_str());
        if self.put_counted(item, condition, ids, &adds, with).await? {
            Ok(())
        } else {
            Err(StoreError::Unknown(anyhow!(
                "task {} (or its prompt's slot) already exists",
                task.task_id
            )))
        }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn table(&self) -> &str {
        &self.table
    }
}

fn key(tenant: &str, id: &str) -> Item {
    crate::dynamodb::key(&table_keys::tenant_partition(tenant), &table_keys::task_sort(id))
}

/// The task as one JSON document plus the attributes that conditions, TTL and the indexes read.
fn to_item(task: &Task) -> Result<Item, StoreError> {
    let mut doc = serde_json::to_value(task).map_err(|e| StoreError::Unknown(e.into()))?;
    doc["reply_seq"] = serde_json::json!(task.reply_seq);
    let mut item = key(&task.tenant, &task.task_id);
    item.insert("doc".into(), AttributeValue::S(doc.to_string()));
    item.insert("status".into(), AttributeValue::S(task.status.as_str().into()));
    item.insert("attempts".into(), AttributeValue::N(task.attempts.to_string()));
    if let Some(expires_at) = task.expires_at {
        item.insert("expires_at".into(), AttributeValue::N(expires_at.to_string()));
    }
    index::add_index_keys(&mut item, task);
    Ok(item)
}

/// The update's `#ipk = :ipk, #isk = :isk` (to be in its `SET`): the status index key of a task that
/// is now in `status`.
fn with_status_key(
    update: UpdateItemFluentBuilder,
    tenant: &str,
    id: &str,
    status: TaskStatus,
) -> UpdateItemFluentBuilder {
    update
        .expression_attribute_names("#ipk", index::STATUS.pk)
        .expression_attribute_names("#isk", index::STATUS.sk)
        .expression_attribute_values(":ipk", AttributeValue::S(index::status_partition(tenant, status)))
        .expression_attribute_values(":isk", AttributeValue::S(id.to_owned()))
}

/// A task item back into a [`Task`].
///
/// # Errors
/// When the item is not a task item.
pub fn task_from_item(tenant: &str, item: &Item) -> Result<Task, StoreError> {
    let doc = item
        .get("doc")
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError::Unknown(anyhow!("task item without doc")))?;
    let value: serde_json::Value = serde_json::from_str(doc).map_err(|e| StoreError::Unknown(e.into()))?;
    let mut task: Task = serde_json::from_value(value.clone()).map_err(|e| StoreError::Unknown(e.into()))?;
    task.tenant = tenant.to_owned();
    task.reply_seq = value["reply_seq"].as_u64();
    let n = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
    };
    task.attempts = n("attempts")
        .and_then(|a| u32::try_from(a).ok())
        .unwrap_or(task.attempts);
    task.lease_until = n("lease_until");
    task.expires_at = n("expires_at").or(task.expires_at);
    task.status = match item.get("status").and_then(|v| v.as_s().ok()).map(String::as_str) {
        Some("running") => TaskStatus::Running,
        Some("retrying") => TaskStatus::Retrying,
        Some("completed") => TaskStatus::Completed,
        Some("failed") => TaskStatus::Failed,
        Some("cancelled") => TaskStatus::Cancelled,
        _ => TaskStatus::Pending,
    };
    if let Some(started) = item.get("started_at").and_then(|v| v.as_s().ok()) {
        task.started_at = Some(started.clone());
    }
    if let Some(finished) = item.get("finished_at").and_then(|v| v.as_s().ok()) {
        task.finished_at = Some(finished.clone());
    }
    Ok(task)
}

/// Why a start did not take, from the item as it was: gone, finished, or leased to another delivery.
fn not_started(tenant: &str, old: Option<&Item>) -> Result<Start, StoreError> {
    let Some(old) = old else {
        return Err(StoreError::NotFound);
    };
    let task = task_from_item(tenant, old)?;
    Ok(if task.status.is_finished() {
        Start::Finished(task)
    } else {
        Start::Leased
    })
}

impl DynamoDbTaskStore {
    /// `start` and `take`: `remove` is the update's `REMOVE` clause (with its keyword), or nothing.
    async fn start_with(
        &self,
        tenant: &str,
        id: &str,
        (now, now_ms, lease_ms): (&str, i64, i64),
        remove: &str,
    ) -> Result<Start, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, id)))
            .update_expression(format!(
                "SET #s = :running, attempts = attempts + :one, lease_until = :lease, \
                 started_at = if_not_exists(started_at, :now), #ipk = :ipk, #isk = :isk{remove}"
            ))
            .condition_expression("#s = :pending OR (#s = :running AND lease_until < :now_ms)")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":running", AttributeValue::S("running".into()))
            .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":lease", AttributeValue::N((now_ms + lease_ms).to_string()))
            .expression_attribute_values(":now_ms", AttributeValue::N(now_ms.to_string()))
            .expression_attribute_values(":now", AttributeValue::S(now.to_owned()))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let update = with_status_key(update, tenant, id, TaskStatus::Running);
        match update.send().await {
            Ok(out) => {
                let task = task_from_item(tenant, out.attributes().unwrap_or(&HashMap::new()))?;
                if task.attempts == 1 {
                    self.bump(tenant, id, &counters::on_first_start()).await;
                }
                Ok(Start::Started(task))
            }
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => not_started(tenant, c.item()),
                _ => Err(fail(e)),
            },
        }
    }
}

impl TaskStore for DynamoDbTaskStore {
    #[tracing::instrument(skip(self, task), fields(task_id = %task.task_id))]
    async fn create(&self, task: &Task) -> Result<(), StoreError> {
        self.create_with(task, vec![]).await
    }

    #[tracing::instrument(skip(self, task, node, unsent), fields(task_id = %task.task_id))]
    async fn create_queued(&self, task: &Task, node: Option<(&Node, i64)>, unsent: &Unsent) -> Result<(), StoreError> {
        self.put_queued(task, node, unsent).await
    }

    #[tracing::instrument(skip(self, task, prompt), fields(task_id = %task.task_id))]
    async fn withdraw(&self, task: &Task, prompt: Option<(&Node, u64)>, _: &Unsent) -> Result<bool, StoreError> {
        self.take_back(task, prompt).await
    }

    #[tracing::instrument(skip(self, unsent), fields(task_id = %unsent.message.task_id))]
    async fn sent(&self, unsent: &Unsent) -> Result<(), StoreError> {
        self.delete_entry(unsent).await
    }

    #[tracing::instrument(skip(self))]
    async fn unsent(&self, before_ms: i64, limit: usize) -> Result<Vec<Unsent>, StoreError> {
        self.entries_before(before_ms, limit).await
    }

    #[tracing::instrument(skip(self))]
    async fn get(&self, tenant: &str, id: &str) -> Result<Option<Task>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, id)))
            .consistent_read(true);
        got.send()
            .await
            .map_err(fail)?
            .item
            .as_ref()
            .map(|i| task_from_item(tenant, i))
            .transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn start(&self, tenant: &str, id: &str, now: &str, now_ms: i64, lease_ms: i64) -> Result<Start, StoreError> {
        let remove = format!(" REMOVE {}", outbox::REMOVE_ENTRY);
        self.start_with(tenant, id, (now, now_ms, lease_ms), &remove).await
    }

    #[tracing::instrument(skip(self))]
    async fn take(&self, tenant: &str, id: &str, now: &str, now_ms: i64, lease_ms: i64) -> Result<Start, StoreError> {
        self.start_with(tenant, id, (now, now_ms, lease_ms), "").await
    }

    #[tracing::instrument(skip_all, fields(task_id = %started.task_id, attempt = started.attempts))]
    async fn finish(
        &self,
        started: &Task,
        now: &str,
        finish: &Finish,
        reply: Option<(&Node, i64)>,
    ) -> Result<bool, StoreError> {
        let mut task = started.clone();
        crate::tasks::model::apply_finish(&mut task, now, finish);
        let attempt = started.attempts.to_string();
        let condition = Put::builder()
            .condition_expression("#s = :running AND attempts = :attempt")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":running", AttributeValue::S("running".into()))
            .expression_attribute_values(":attempt", AttributeValue::N(attempt));
        let ids = (task.tenant.as_str(), task.task_id.as_str());
        let with = self.node_write(&task, reply)?;
        self.put_counted(to_item(&task)?, condition, ids, &counters::on_finish(&task), with)
            .await
    }
}

impl TaskCancel for DynamoDbTaskStore {
    #[tracing::instrument(skip(self))]
    async fn cancel(&self, tenant: &str, id: &str, now: &str) -> Result<Option<Task>, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, id)))
            .update_expression(format!(
                "SET #s = :cancelled, finished_at = :now, #ipk = :ipk, #isk = :isk REMOVE lease_until, {}",
                outbox::REMOVE_ENTRY
            ))
            .condition_expression("#s IN (:pending, :running)")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":cancelled", AttributeValue::S("cancelled".into()))
            .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
            .expression_attribute_values(":running", AttributeValue::S("running".into()))
            .expression_attribute_values(":now", AttributeValue::S(now.to_owned()))
            .return_values(ReturnValue::AllOld);
        let update = with_status_key(update, tenant, id, TaskStatus::Cancelled);
        match update.send().await {
            Ok(out) => {
                let Some(mut task) = out.attributes().map(|a| task_from_item(tenant, a)).transpose()? else {
                    return Ok(None);
                };
                self.bump(tenant, id, &counters::on_cancel(task.status)).await;
                (task.status, task.finished_at, task.lease_until) = (TaskStatus::Cancelled, Some(now.to_owned()), None);
                Ok(Some(task))
            }
            Err(e) if crate::dynamodb::condition_failed(&e) => self.get(tenant, id).await,
            Err(e) => Err(fail(e)),
        }
    }
}
