//! Ports: tasks and the task queues.

use std::future::Future;

use super::model::{Band, StreamStats, Task, TokenUsage};
use crate::contexts::model::Node;
use crate::conversation::store::StoreError;

use serde::{Deserialize, Serialize};

/// The outcome of trying to start a task.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// This delivery owns the task now (attempt number inside).
    Started(Task),
    /// Already completed, failed or cancelled: nothing to do.
    Finished(Task),
    /// Another delivery holds a live lease.
    Leased,
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    Completed {
        provider: String,
        model: String,
        usage: TokenUsage,
        output: String,
        /// For a streamed task: how the stream went.
        stream: Option<Box<StreamStats>>,
    },
    Failed {
        /// A stable code from [`failure`].
        code: &'static str,
        error: String,
        stream: Option<Box<StreamStats>>,
    },
}

/// The codes a failed task carries.
pub mod failure {
    /// No provider answered within the task's deadline.
    pub const PROVIDER_TIMEOUT: &str = "PROVIDER_TIMEOUT";
    /// Every provider of the model's chain failed.
    pub const PROVIDER_FAILED: &str = "PROVIDER_FAILED";
    /// The task could not be run: its context, prompt or reply slot is gone.
    pub const INVALID_TASK: &str = "INVALID_TASK";
    /// Its message was received `maxReceiveCount` times without finishing and was dead-lettered.
    pub const DEAD_LETTERED: &str = "DEAD_LETTERED";
    /// Cancelled while it ran: the worker dropped its provider call. Never stored (the cancel is).
    pub const CANCELLED: &str = "CANCELLED";
    /// The model still asked for tools after `MAX_TOOL_ROUNDS` rounds of them.
    pub const TOOL_ROUNDS_EXCEEDED: &str = "TOOL_ROUNDS_EXCEEDED";
}

/// An outbox entry: a queued task that no worker has started yet. It is written in the same
/// transaction as the task and removed when the task starts (or is cancelled); an entry that outlives
/// the grace period (`OUTBOX_GRACE_SECONDS`) with its task still pending may belong to a creator that
/// died before sending its message, and the outbox sweep sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsent {
    pub band: Band,
    /// The message group: the context of a prompt, the task itself for a standalone task.
    pub group: String,
    pub message: TaskMessage,
    /// When the task was created (Unix milliseconds).
    pub since_ms: i64,
}

/// Port: tasks, always within a tenant. Status changes are conditional.
pub trait TaskStore: Send + Sync {
    /// Writes a finished task (nothing to queue).
    fn create(&self, task: &Task) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Writes a pending task, the user node it answers (`node`, with the context's expiry) and its
    /// outbox entry in one transaction: all three, or nothing.
    fn create_queued(
        &self,
        task: &Task,
        node: Option<(&Node, i64)>,
        unsent: &Unsent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Takes back a pending task whose message could not be sent, in one transaction: the task (only
    /// while it is still `pending`), its counters, its outbox entry and the user node it answers,
    /// giving the context back the `bytes` reserved for the prompt. `false`, with nothing removed,
    /// when the task is no longer pending: its message got through after all.
    fn withdraw(
        &self,
        task: &Task,
        prompt: Option<(&Node, u64)>,
        unsent: &Unsent,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Removes the outbox entry: the sweep sent its message, or its task no longer needs one. (Starting
    /// or cancelling a task removes its entry too.)
    fn sent(&self, unsent: &Unsent) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Outbox entries created before `before_ms`, at most `limit` of them, oldest first.
    fn unsent(&self, before_ms: i64, limit: usize) -> impl Future<Output = Result<Vec<Unsent>, StoreError>> + Send;
    fn get(&self, tenant: &str, id: &str) -> impl Future<Output = Result<Option<Task>, StoreError>> + Send;
    /// `pending → running`, or takes over a `running` task whose lease ran out.
    fn start(
        &self,
        tenant: &str,
        id: &str,
        now: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> impl Future<Output = Result<Start, StoreError>> + Send;
    /// Starts a task as [`TaskStore::start`] does, but leaves its outbox entry: the caller runs the
    /// task itself (a streamed completion), and should it die, the outbox sweep queues the task once
    /// its lease has run out.
    fn take(
        &self,
        tenant: &str,
        id: &str,
        now: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> impl Future<Output = Result<Start, StoreError>> + Send;
    /// `running → completed|failed`, only for the attempt that started it (`started`, as its start
    /// returned it, with what its runner added, such as its tool rounds: the write is that task
    /// finished, with no read first), with a prompt's `reply` (the node and its context's expiry)
    /// in its slot of the task's context, which must be empty: all or nothing; `false` otherwise.
    fn finish(
        &self,
        started: &Task,
        now: &str,
        finish: &Finish,
        reply: Option<(&Node, i64)>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Port addition: cancelling a task.
pub trait TaskCancel: Send + Sync {
    /// `pending|running → cancelled`; the task as it is afterwards, `None` when there is none.
    fn cancel(
        &self,
        tenant: &str,
        id: &str,
        now: &str,
    ) -> impl Future<Output = Result<Option<Task>, StoreError>> + Send;
}

/// What goes on a task queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMessage {
    pub tenant: String,
    pub task_id: String,
}

/// Port: the task queues, one per band. Messages of one `group` (a context) are delivered one at a
/// time in the order sent; a message sent again with the same task id is queued once.
pub trait TaskQueue: Send + Sync {
    fn enqueue(
        &self,
        band: Band,
        group: &str,
        message: &TaskMessage,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}
