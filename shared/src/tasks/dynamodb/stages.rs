//! [`StageTasks`] on DynamoDB: a stage task is a task item (see [`super::index`]) with a `task_token`
//! attribute; its agent's inbox entry is `TENANT#<tenant>` / `INBOX#<agent id>#<task id>`. A change
//! replaces the item on the condition that its `doc` is the one read.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};

use super::{key, task_from_item, to_item, DynamoDbTaskStore};
use crate::conversation::store::StoreError;
use crate::dynamodb::transactions::{transact, Transacted};
use crate::dynamodb::{s, sdk_error, table_keys, Item};
use crate::tasks::model::{Task, TaskStatus};
use crate::tasks::stages::StageTasks;
use crate::tasks::stats as counters;

fn unknown(e: impl Into<anyhow::Error>) -> StoreError {
    StoreError::Unknown(e.into())
}

fn inbox_key(tenant: &str, agent_id: &str, task_id: &str) -> Item {
    crate::dynamodb::key(
        &table_keys::tenant_partition(tenant),
        &table_keys::inbox_sort(agent_id, task_id),
    )
}

/// How long a reservation is kept at most (DynamoDB TTL): a task's end frees it long before.
const HELD_TTL_SECS: i64 = 7 * 24 * 3600;
/// A reservation whose task was never written is taken over after this.
const RESERVATION_GRACE_MS: i64 = 60_000;

fn held_key(tenant: &str, agent_id: &str) -> Item {
    crate::dynamodb::key(
        &table_keys::tenant_partition(tenant),
        &table_keys::agent_task_sort(agent_id),
    )
}

fn agent_of(task: &Task) -> Result<&str, StoreError> {
    task.stage
        .as_ref()
        .map(|s| s.assigned_agent.as_str())
        .ok_or_else(|| unknown(anyhow::anyhow!("task {} is not a stage task", task.task_id)))
}

impl DynamoDbTaskStore {
    fn stage_item(task: &Task, token: &str) -> Result<Item, StoreError> {
        let mut item = to_item(task)?;
        item.insert("task_token".into(), s(token));
        Ok(item)
    }

    /// The agent's oldest inbox entries' task ids.
    async fn inbox(&self, tenant: &str, agent_id: &str) -> Result<Vec<String>, StoreError> {
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(&table_keys::tenant_partition(tenant)))
            .expression_attribute_values(":prefix", s(&table_keys::inbox_prefix(agent_id)))
            .consistent_read(true)
            .limit(10)
            .send()
            .await
            .map_err(|e| unknown(sdk_error(e)))?;
        Ok(out
            .items()
            .iter()
            .filter_map(|i| i.get("task_id").and_then(|v| v.as_s().ok()).cloned())
            .collect())
    }

    async fn drop_entry(&self, tenant: &str, agent_id: &str, task_id: &str) -> Result<(), StoreError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(inbox_key(tenant, agent_id, task_id)))
            .send()
            .await
            .map_err(|e| unknown(sdk_error(e)))?;
        Ok(())
    }
}

impl StageTasks for DynamoDbTaskStore {
    #[tracing::instrument(skip(self, task, token), fields(task_id = %task.task_id))]
    async fn assign(&self, task: &Task, token: &str) -> Result<bool, StoreError> {
        let agent = agent_of(task)?;
        let mut entry = inbox_key(&task.tenant, agent, &task.task_id);
        entry.insert("task_id".into(), s(&task.task_id));
        if let Some(expires_at) = task.expires_at {
            entry.insert("expires_at".into(), AttributeValue::N(expires_at.to_string()));
        }
        let entry = Put::builder()
            .table_name(self.table())
            .set_item(Some(entry))
            .build()
            .map_err(unknown)?;
        let condition = Put::builder().condition_expression("attribute_not_exists(pk)");
        let ids = (task.tenant.as_str(), task.task_id.as_str());
        let with = vec![TransactWriteItem::builder().put(entry).build()];
        self.put_counted(
            Self::stage_item(task, token)?,
            condition,
            ids,
            &counters::on_create(task),
            with,
        )
        .await
    }

    #[tracing::instrument(skip(self))]
    async fn claim_next(&self, tenant: &str, agent_id: &str, now: &str) -> Result<Option<(Task, String)>, StoreError> {
        for task_id in self.inbox(tenant, agent_id).await? {
            let Some((task, token)) = self.with_token(tenant, &task_id).await? else {
                self.drop_entry(tenant, agent_id, &task_id).await?;
                continue;
            };
            if task.status != TaskStatus::Pending {
                self.drop_entry(tenant, agent_id, &task_id).await?;
                continue;
            }
            let mut claimed = task.clone();
            claimed.status = TaskStatus::Running;
            claimed.started_at = Some(now.to_owned());
            if let Some(stage) = claimed.stage.as_mut() {
                now.clone_into(&mut stage.updated_at);
            }
            let put = Put::builder()
                .table_name(self.table())
                .set_item(Some(Self::stage_item(&claimed, &token)?))
                .condition_expression("#s = :pending")
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":pending", s("pending"))
                .build()
                .map_err(unknown)?;
            let delete = Delete::builder()
                .table_name(self.table())
                .set_key(Some(inbox_key(tenant, agent_id, &task_id)))
                .build()
                .map_err(unknown)?;
            let writes = vec![
                TransactWriteItem::builder().put(put).build(),
                TransactWriteItem::builder().delete(delete).build(),
            ];
            match transact(self.client(), writes).await.map_err(StoreError::Unknown)? {
                Transacted::Written => {
                    self.bump(tenant, &task_id, &counters::on_first_start()).await;
                    return Ok(Some((claimed, token)));
                }
                // Cancelled between the read and the claim: its entry goes on the next pass.
                Transacted::Refused { .. } => continue,
            }
        }
        Ok(None)
    }

    #[tracing::instrument(skip(self))]
    async fn reserve(&self, tenant: &str, agent_id: &str, task_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        for _ in 0..2 {
            let mut item = held_key(tenant, agent_id);
            item.insert("task_id".into(), s(task_id));
            item.insert("reserved_ms".into(), AttributeValue::N(now_ms.to_string()));
            item.insert(
                "expires_at".into(),
                AttributeValue::N((now_ms / 1000 + HELD_TTL_SECS).to_string()),
            );
            let put = self
                .client()
                .put_item()
                .table_name(self.table())
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk) OR task_id = :task")
                .expression_attribute_values(":task", s(task_id))
                .return_values_on_condition_check_failure(
                    aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
                );
            let held = match put.send().await {
                Ok(_) => return Ok(true),
                Err(e) => match e.as_service_error() {
                    Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c)) => {
                        c.item().cloned().unwrap_or_default()
                    }
                    _ => return Err(unknown(sdk_error(e))),
                },
            };
            let Some(other) = held.get("task_id").and_then(|v| v.as_s().ok()).cloned() else {
                return Ok(false);
            };
            let since = crate::dynamodb::number(&held, "reserved_ms").unwrap_or(0);
            let stale = match self.with_token(tenant, &other).await? {
                Some((task, _)) => task.status.is_finished(),
                // Reserved by a dispatch that died before writing its task.
                None => now_ms - since > RESERVATION_GRACE_MS,
            };
            if !stale {
                return Ok(false);
            }
            self.release(tenant, agent_id, &other).await?;
        }
        Ok(false)
    }

    #[tracing::instrument(skip(self))]
    async fn release(&self, tenant: &str, agent_id: &str, task_id: &str) -> Result<(), StoreError> {
        let deleted = self
            .client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(held_key(tenant, agent_id)))
            .condition_expression("task_id = :task")
            .expression_attribute_values(":task", s(task_id))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            // Held for another task by now, or free already.
            Err(e) if crate::dynamodb::condition_failed(&e) => Ok(()),
            Err(e) => Err(unknown(sdk_error(e))),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn with_token(&self, tenant: &str, task_id: &str) -> Result<Option<(Task, String)>, StoreError> {
        let got = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(key(tenant, task_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unknown(sdk_error(e)))?;
        let Some(item) = got.item else { return Ok(None) };
        let Some(token) = item.get("task_token").and_then(|v| v.as_s().ok()).cloned() else {
            return Ok(None);
        };
        Ok(Some((task_from_item(tenant, &item)?, token)))
    }

    #[tracing::instrument(skip(self, before, after, token), fields(task_id = %after.task_id))]
    async fn replace(&self, before: &Task, after: &Task, token: &str) -> Result<bool, StoreError> {
        let old_doc = to_item(before)?
            .remove("doc")
            .ok_or_else(|| unknown(anyhow::anyhow!("task without doc")))?;
        let item = Self::stage_item(after, token)?;
        let condition = "#s = :status AND doc = :doc";
        let status = s(before.status.as_str());
        if after.status == before.status {
            // Progress: the status stays, so the counters do too.
            let sent = self
                .client()
                .put_item()
                .table_name(self.table())
                .set_item(Some(item))
                .condition_expression(condition)
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":status", status)
                .expression_attribute_values(":doc", old_doc)
                .send()
                .await;
            return match sent {
                Ok(_) => Ok(true),
                Err(e) if crate::dynamodb::condition_failed(&e) => Ok(false),
                Err(e) => Err(unknown(sdk_error(e))),
            };
        }
        let put = Put::builder()
            .condition_expression(condition)
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":status", status)
            .expression_attribute_values(":doc", old_doc);
        let adds = if after.status == TaskStatus::Cancelled {
            counters::on_cancel(before.status)
        } else {
            counters::on_finish(after)
        };
        let ids = (after.tenant.as_str(), after.task_id.as_str());
        let replaced = self.put_counted(item, put, ids, &adds, vec![]).await?;
        if replaced && after.status.is_finished() {
            // Its agent may take another task now; a release that fails is taken back later.
            if let Err(e) = self.release(&after.tenant, agent_of(after)?, &after.task_id).await {
                tracing::warn!(task_id = %after.task_id, error = %e, "agent not released");
            }
        }
        Ok(replaced)
    }
}
