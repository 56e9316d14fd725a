//! The transactional outbox of queued tasks: a task that must be queued is written as an outbox
//! entry in the same transaction as the rest (on DynamoDB the entry is the task item itself, in a
//! sparse index), its message is sent, and the write that starts the task takes it out of the outbox.
//! A creator that dies between the write and the send leaves a task that no worker starts; the outbox
//! sweep (the `task-outbox` function, every minute) sends the message of every entry older than a
//! grace period (`OUTBOX_GRACE_SECONDS`, 60 s: longer than any HTTP function may run, so the creator
//! is dead, not slow) whose task is still pending, and takes it out, so no task stays `pending` for
//! ever. A task still queued behind others after the grace period is sent again by the sweep too,
//! which is harmless: the queue drops a repeat within five minutes (its deduplication id is the task
//! id), and the worker acknowledges a task that is running or finished.

use chrono::{DateTime, Utc};

use crate::contexts::model::Node;

use crate::contexts::store::ContextStore;
use crate::conversation::errors::ConversationError;
use crate::conversation::service::Deps;
use crate::tasks::model::{band, Task, TaskStatus};
use crate::tasks::store::{TaskMessage, TaskQueue, TaskStore, Unsent};

/// The outbox entry of `task`, queued in `group` at `now`.
fn unsent(task: &Task, group: &str, now: DateTime<Utc>) -> Unsent {
    Unsent {
        band: band(task.priority),
        group: group.to_owned(),
        message: TaskMessage {
            tenant: task.tenant.clone(),
            task_id: task.task_id.clone(),
        },
        since_ms: now.timestamp_millis(),
    }
}

impl<C: ContextStore, T: TaskStore, Q: TaskQueue> Deps<C, T, Q> {
    /// Writes the pending task and its outbox entry in one transaction, and takes it for the caller,
    /// who runs it (a streamed completion): no message is sent while the caller holds the lease; the
    /// entry stays, so the sweep queues the task should the caller die. The started task, or `None`
    /// when something else took it first. A take that fails takes the whole write back, as a failed
    /// send does in [`Deps::create_and_queue`], so the caller's error leaves nothing to run.
    pub(crate) async fn create_and_take(
        &self,
        task: &Task,
        group: &str,
        now: DateTime<Utc>,
        lease_ms: i64,
    ) -> Result<Option<Task>, ConversationError> {
        let unsent = unsent(task, group, now);
        self.tasks.create_queued(task, None, &unsent).await?;
        let at = crate::conversation::service::stamp(now);
        let take = self
            .tasks
            .take(&task.tenant, &task.task_id, &at, now.timestamp_millis(), lease_ms);
        match take.await {
            Ok(crate::tasks::store::Start::Started(task)) => Ok(Some(task)),
            Ok(_) => Ok(None),
            Err(err) => {
                if let Err(e) = self.tasks.withdraw(task, None, &unsent).await {
                    let task_id = &task.task_id;
                    tracing::error!(%task_id, take = %err, withdraw = %e, "not taken and not taken back: the outbox sweep queues it");
                }
                Err(err.into())
            }
        }
    }

    /// Writes the pending task (with the user node it answers, if any) and its outbox entry in one
    /// transaction, and sends its message to `group`. The entry stays until a worker starts the task.
    ///
    /// A send that fails takes the whole write back ([`TaskStore::withdraw`]: the task, its entry,
    /// its prompt and the prompt's reserved `bytes`), so the caller's error (`503` when the queue
    /// could not be reached) leaves nothing behind and a retry starts afresh. Should taking it back
    /// fail too, the task stays pending with its entry, and the outbox sweep sends it once the queue
    /// answers: the task runs exactly once, and the caller is told it was accepted.
    pub(crate) async fn create_and_queue(
        &self,
        task: &Task,
        node: Option<(&Node, i64, u64)>,
        group: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ConversationError> {
        let (prompt, node) = (
            node.map(|(n, _, bytes)| (n, bytes)),
            node.map(|(n, expires, _)| (n, expires)),
        );
        let unsent = unsent(task, group, now);
        self.tasks.create_queued(task, node, &unsent).await?;
        if let Err(err) = self.queue.enqueue(unsent.band, group, &unsent.message).await {
            let task_id = &task.task_id;
            return match self.tasks.withdraw(task, prompt, &unsent).await {
                Ok(true) => Err(ConversationError::Unknown(err)),
                Ok(false) => {
                    tracing::warn!(%task_id, error = %err, "the send failed, yet the task was taken: it is queued");
                    Ok(())
                }
                Err(e) => {
                    tracing::error!(%task_id, error = %err, withdraw = %e, "not queued and not taken back: the outbox sweep sends it");
                    Ok(())
                }
            };
        }
        Ok(())
    }

    /// Sends the message of every queued task whose creator died before sending it (outbox entries
    /// older than `grace`, at most `limit`), and removes their entries. Entries of tasks that are no
    /// longer pending are only removed. An entry that cannot be handled is logged and left for the next
    /// sweep, without holding up the others.
    ///
    /// # Errors
    /// When the outbox cannot be read, or no entry could be handled.
    pub async fn send_unsent(
        &self,
        now: DateTime<Utc>,
        grace: std::time::Duration,
        limit: usize,
    ) -> Result<usize, ConversationError> {
        let before = now.timestamp_millis() - i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
        let entries = self.tasks.unsent(before, limit).await?;
        let (mut sent, mut handled, mut last_error) = (0, 0, None);
        for unsent in &entries {
            match self.send_one(unsent, now.timestamp_millis()).await {
                Ok(did_send) => {
                    handled += 1;
                    sent += usize::from(did_send);
                }
                Err(e) => {
                    tracing::error!(task_id = %unsent.message.task_id, error = %e, "outbox entry left for the next sweep");
                    last_error = Some(e);
                }
            }
        }
        match last_error {
            Some(e) if handled == 0 => Err(e),
            _ => Ok(sent),
        }
    }

    /// Sends one entry's message if its task is still pending, or was taken by a caller whose lease
    /// has run out (a streamed completion whose function died), then removes the entry; leaves the
    /// entry of a task whose taker still holds its lease. `true` when it sent.
    async fn send_one(&self, unsent: &Unsent, now_ms: i64) -> Result<bool, ConversationError> {
        let message = &unsent.message;
        let task = self.tasks.get(&message.tenant, &message.task_id).await?;
        let (send, keep) = match task {
            Some(t) if t.status == TaskStatus::Pending => (true, false),
            Some(t) if t.status == TaskStatus::Running => match t.lease_until {
                Some(until) if until > now_ms => (false, true),
                _ => (true, false),
            },
            _ => (false, false),
        };
        if keep {
            return Ok(false);
        }
        if send {
            let send = self.queue.enqueue(unsent.band, &unsent.group, message);
            send.await.map_err(ConversationError::Unknown)?;
            tracing::info!(task_id = %message.task_id, "outbox: sent a message its creator did not");
        }
        self.tasks.sent(unsent).await?;
        Ok(send)
    }
}

#[cfg(test)]
mod tests;
