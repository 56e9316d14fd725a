//! [`StageTasks`] on DynamoDB: a stage task is a task item (see [`super::index`]) with a `task_token`
//! attribute (its current attempt's); its agent's inbox entry is `TENANT#<tenant>` /
//! `INBOX#<agent id>#<task id>`, and the attempt an agent holds is `AGENTTASK#<agent id>`. A change
//! replaces the item on the condition that its `doc` is the one read.

use aws_sdk_dynamodb::types::builders::PutBuilder;
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

/// The condition that the item is still as read: its status (`:status`) and document (`:doc`).
const UNCHANGED: &str = "#s = :status AND doc = :doc";

/// The values of [`UNCHANGED`] for `before`: its status and its document.
fn as_read(before: &Task) -> Result<(AttributeValue, AttributeValue), StoreError> {
    let old_doc = to_item(before)?
        .remove("doc")
        .ok_or_else(|| unknown(anyhow::anyhow!("task without doc")))?;
    Ok((s(before.status.as_str()), old_doc))
}

/// A transaction's put on the condition that the item is still `before` as read.
fn unchanged(before: &Task) -> Result<PutBuilder, StoreError> {
    let (status, doc) = as_read(before)?;
    Ok(Put::builder()
        .condition_expression(UNCHANGED)
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":status", status)
        .expression_attribute_values(":doc", doc))
}

fn agent_of(task: &Task) -> Result<&str, StoreError> {
    task.stage
        .as_ref()
        .and_then(|s| s.assigned_agent.as_deref())
        .ok_or_else(|| unknown(anyhow::anyhow!("task {} is not assigned to an agent", task.task_id)))
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

/// Whether a reservation for attempt `attempt` of `task`, made `age_ms` ago, may be taken over: its
/// task ended, failed that attempt (and waits for the next), or is on a later one. A reservation for
/// an attempt not written yet (or a task never written: its dispatch died) is kept a minute.
fn reservation_over(task: Option<&Task>, attempt: u32, age_ms: i64) -> bool {
    let Some(task) = task else {
        return age_ms > RESERVATION_GRACE_MS;
    };
    task.status.is_finished()
        || (task.status == TaskStatus::Retrying && task.attempts >= attempt)
        || task.attempts > attempt
        || (task.attempts < attempt && age_ms > RESERVATION_GRACE_MS)
}

impl StageTasks for DynamoDbTaskStore {
    #[tracing::instrument(skip(self, task, token, previous), fields(task_id = %task.task_id))]
    async fn assign(&self, task: &Task, token: &str, previous: Option<&Task>) -> Result<bool, StoreError> {
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
        let with = vec![TransactWriteItem::builder().put(entry).build()];
        let item = Self::stage_item(task, token)?;
        let ids = (task.tenant.as_str(), task.task_id.as_str());
        let Some(previous) = previous else {
            let condition = Put::builder().condition_expression("attribute_not_exists(pk)");
            return self
                .put_counted(item, condition, ids, &counters::on_create(task), with)
                .await;
        };
        // The next attempt of a task already counted: its counters stay.
        let put = unchanged(previous)?
            .table_name(self.table())
            .set_item(Some(item))
            .build()
            .map_err(unknown)?;
        let mut writes = vec![TransactWriteItem::builder().put(put).build()];
        writes.extend(with);
        match transact(self.client(), writes).await.map_err(StoreError::Unknown)? {
            Transacted::Written => Ok(true),
            Transacted::Refused { .. } => Ok(false),
        }
    }

    #[tracing::instrument(skip(self, task), fields(task_id = %task.task_id))]
    async fn add(&self, task: &Task) -> Result<bool, StoreError> {
        let condition = Put::builder().condition_expression("attribute_not_exists(pk)");
        let ids = (task.tenant.as_str(), task.task_id.as_str());
        self.put_counted(to_item(task)?, condition, ids, &counters::on_create(task), vec![])
            .await
    }

    #[tracing::instrument(skip(self))]
    async fn claim_next(&self, tenant: &str, agent_id: &str, now: &str) -> Result<Option<(Task, String)>, StoreError> {
        for task_id in self.inbox(tenant, agent_id).await? {
            let Some((task, token)) = self.with_token(tenant, &task_id).await? else {
                self.drop_entry(tenant, agent_id, &task_id).await?;
                continue;
            };
            let assigned_here = task
                .stage
                .as_ref()
                .is_some_and(|w| w.assigned_agent.as_deref() == Some(agent_id));
            if task.status != TaskStatus::Pending || !assigned_here {
                self.drop_entry(tenant, agent_id, &task_id).await?;
                continue;
            }
            let mut claimed = task.clone();
            claimed.status = TaskStatus::Running;
            // The task's start is its first attempt's.
            let first_start = claimed.started_at.is_none();
            if first_start {
                claimed.started_at = Some(now.to_owned());
            }
            if let Some(stage) = claimed.stage.as_mut() {
                now.clone_into(&mut stage.updated_at);
            }
            let put = unchanged(&task)?
                .table_name(self.table())
                .set_item(Some(Self::stage_item(&claimed, &token)?))
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
                    if first_start {
                        self.bump(tenant, &task_id, &counters::on_first_start()).await;
                    }
                    return Ok(Some((claimed, token)));
                }
                // Cancelled or changed between the read and the claim: its entry goes on the next pass.
                Transacted::Refused { .. } => continue,
            }
        }
        Ok(None)
    }

    #[tracing::instrument(skip(self))]
    async fn reserve(
        &self,
        tenant: &str,
        agent_id: &str,
        (task_id, attempt): (&str, u32),
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        for _ in 0..2 {
            let mut item = held_key(tenant, agent_id);
            item.insert("task_id".into(), s(task_id));
            item.insert("attempt".into(), AttributeValue::N(attempt.to_string()));
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
                .condition_expression("attribute_not_exists(pk) OR (task_id = :task AND attempt = :attempt)")
                .expression_attribute_values(":task", s(task_id))
                .expression_attribute_values(":attempt", AttributeValue::N(attempt.to_string()))
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
            let other_attempt = crate::dynamodb::number(&held, "attempt")
                .and_then(|a| u32::try_from(a).ok())
                .unwrap_or(0);
            let since = crate::dynamodb::number(&held, "reserved_ms").unwrap_or(0);
            let task = self.with_token(tenant, &other).await?.map(|(t, _)| t);
            if !reservation_over(task.as_ref(), other_attempt, now_ms - since) {
                return Ok(false);
            }
            self.release(tenant, agent_id, (&other, other_attempt)).await?;
        }
        Ok(false)
    }

    #[tracing::instrument(skip(self))]
    async fn release(&self, tenant: &str, agent_id: &str, (task_id, attempt): (&str, u32)) -> Result<(), StoreError> {
        let deleted = self
            .client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(held_key(tenant, agent_id)))
            .condition_expression("task_id = :task AND (attempt = :attempt OR attribute_not_exists(attempt))")
            .expression_attribute_values(":task", s(task_id))
            .expression_attribute_values(":attempt", AttributeValue::N(attempt.to_string()))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            // Held for another attempt by now, or free already.
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
        let task = task_from_item(tenant, &item)?;
        if task.stage.is_none() {
            return Ok(None);
        }
        let token = item
            .get("task_token")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        Ok(Some((task, token)))
    }

    #[tracing::instrument(skip(self, before, after, token), fields(task_id = %after.task_id))]
    async fn replace(&self, before: &Task, after: &Task, token: &str) -> Result<bool, StoreError> {
        let item = Self::stage_item(after, token)?;
        if !after.status.is_finished() {
            // Progress, or an attempt over: the counters stay (a retried task counts as running), so
            // one put, not a transaction.
            let (status, doc) = as_read(before)?;
            let sent = self
                .client()
                .put_item()
                .table_name(self.table())
                .set_item(Some(item))
                .condition_expression(UNCHANGED)
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":status", status)
                .expression_attribute_values(":doc", doc)
                .send()
                .await;
            let replaced = match sent {
                Ok(_) => true,
                Err(e) if crate::dynamodb::condition_failed(&e) => false,
                Err(e) => return Err(unknown(sdk_error(e))),
            };
            if replaced && after.status == TaskStatus::Retrying && before.status != TaskStatus::Retrying {
                self.freed(after).await;
            }
            return Ok(replaced);
        }
        let started = before.started_at.is_some();
        let mut adds = if after.status == TaskStatus::Cancelled {
            counters::on_cancel(if started {
                TaskStatus::Running
            } else {
                TaskStatus::Pending
            })
        } else {
            counters::on_finish(after)
        };
        if !started && after.status != TaskStatus::Cancelled {
            // Ended before any agent claimed it (its attempts timed out): counted as started too,
            // so it leaves the pending count.
            adds.extend(counters::on_first_start());
        }
        let ids = (after.tenant.as_str(), after.task_id.as_str());
        let replaced = self.put_counted(item, unchanged(before)?, ids, &adds, vec![]).await?;
        if replaced {
            self.freed(after).await;
        }
        Ok(replaced)
    }
}

impl DynamoDbTaskStore {
    /// The task's attempt is over: its agent may take another one. A release that fails is taken
    /// back by the next reservation.
    async fn freed(&self, task: &Task) {
        let Ok(agent) = agent_of(task) else { return };
        if let Err(e) = self.release(&task.tenant, agent, (&task.task_id, task.attempts)).await {
            tracing::warn!(task_id = %task.task_id, error = %e, "agent not released");
        }
    }
}

#[cfg(test)]
mod reservation_tests {
    use super::*;

    fn on(status: TaskStatus, attempts: u32) -> Task {
        let mut t = Task::example("task_1");
        (t.status, t.attempts) = (status, attempts);
        t
    }

    #[test]
    fn a_reservation_is_over_when_its_attempt_is_and_kept_while_its_attempt_is_being_written() {
        let young = 1_000;
        // Its attempt runs, or waits in the inbox: kept.
        assert!(!reservation_over(Some(&on(TaskStatus::Running, 2)), 2, young));
        assert!(!reservation_over(Some(&on(TaskStatus::Pending, 2)), 2, young));
        // Its attempt failed, the task ended, or moved on: over.
        assert!(reservation_over(Some(&on(TaskStatus::Retrying, 2)), 2, young));
        assert!(reservation_over(Some(&on(TaskStatus::Completed, 2)), 2, young));
        assert!(reservation_over(Some(&on(TaskStatus::Pending, 3)), 2, young));
        // Made for the next attempt while the task still says the last one failed: kept, a minute.
        assert!(!reservation_over(Some(&on(TaskStatus::Retrying, 1)), 2, young));
        assert!(reservation_over(
            Some(&on(TaskStatus::Retrying, 1)),
            2,
            RESERVATION_GRACE_MS + 1
        ));
        // A task never written: kept a minute.
        assert!(!reservation_over(None, 1, young));
        assert!(reservation_over(None, 1, RESERVATION_GRACE_MS + 1));
    }
}
