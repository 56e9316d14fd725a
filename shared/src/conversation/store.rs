//! Ports for contexts, tasks and the task queue, with in-memory adapters for unit tests.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::model::{Band, Context, Node, Task, TaskStatus, TokenUsage};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Port: contexts and their nodes, always within a tenant.
pub trait ContextStore: Send + Sync {
    /// Writes the context and its nodes (numbered from 1).
    fn create(&self, context: &Context) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn get(&self, tenant: &str, id: &str) -> impl Future<Output = Result<Option<Context>, StoreError>> + Send;
    /// Reserves `count` consecutive sequence numbers and returns the first.
    fn reserve(
        &self,
        tenant: &str,
        id: &str,
        count: u64,
        now: &str,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Writes a node at its reserved `seq` unless one is there; `false` when it already was.
    fn put_node(
        &self,
        tenant: &str,
        id: &str,
        node: &Node,
        expires_at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

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
    },
    Failed {
        error: String,
    },
}

/// Port: tasks, always within a tenant. Status changes are conditional.
pub trait TaskStore: Send + Sync {
    fn create(&self, task: &Task) -> impl Future<Output = Result<(), StoreError>> + Send;
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
    /// `running → completed|failed`, only for the attempt that started it; `false` otherwise.
    fn finish(
        &self,
        tenant: &str,
        id: &str,
        attempt: u32,
        now: &str,
        finish: &Finish,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What goes on a task queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMessage {
    pub tenant: String,
    pub task_id: String,
}

/// Port: the task queues, one per band.
pub trait TaskQueue: Send + Sync {
    fn enqueue(&self, band: Band, message: &TaskMessage) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Makes a received message visible again after `secs` (instead of the queue's visibility timeout).
    fn retry_later(
        &self,
        queue_arn: &str,
        receipt_handle: &str,
        secs: u32,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// In-memory stores and queue for unit tests.
#[derive(Debug, Default)]
pub struct InMemory {
    contexts: Mutex<BTreeMap<(String, String), (Context, u64)>>,
    tasks: Mutex<BTreeMap<(String, String), Task>>,
    pub queued: Mutex<Vec<(Band, TaskMessage)>>,
    pub delayed: Mutex<Vec<(String, u32)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ContextStore for InMemory {
    async fn create(&self, context: &Context) -> Result<(), StoreError> {
        let next = context.nodes.len() as u64 + 1;
        lock(&self.contexts).insert(
            (context.tenant.clone(), context.context_id.clone()),
            (context.clone(), next),
        );
        Ok(())
    }

    async fn get(&self, tenant: &str, id: &str) -> Result<Option<Context>, StoreError> {
        Ok(lock(&self.contexts)
            .get(&(tenant.to_owned(), id.to_owned()))
            .map(|(c, _)| c.clone()))
    }

    async fn reserve(&self, tenant: &str, id: &str, count: u64, now: &str) -> Result<u64, StoreError> {
        let mut contexts = lock(&self.contexts);
        let (context, next) = contexts
            .get_mut(&(tenant.to_owned(), id.to_owned()))
            .ok_or(StoreError::NotFound)?;
        let first = *next;
        *next += count;
        context.updated_at = now.to_owned();
        Ok(first)
    }

    async fn put_node(&self, tenant: &str, id: &str, node: &Node, _expires_at: i64) -> Result<bool, StoreError> {
        let mut contexts = lock(&self.contexts);
        let (context, _) = contexts
            .get_mut(&(tenant.to_owned(), id.to_owned()))
            .ok_or(StoreError::NotFound)?;
        if context.nodes.iter().any(|n| n.seq == node.seq) {
            return Ok(false);
        }
        context.nodes.push(node.clone());
        context.nodes.sort_by_key(|n| n.seq);
        Ok(true)
    }
}

impl TaskStore for InMemory {
    async fn create(&self, task: &Task) -> Result<(), StoreError> {
        lock(&self.tasks).insert((task.tenant.clone(), task.task_id.clone()), task.clone());
        Ok(())
    }

    async fn get(&self, tenant: &str, id: &str) -> Result<Option<Task>, StoreError> {
        Ok(lock(&self.tasks).get(&(tenant.to_owned(), id.to_owned())).cloned())
    }

    async fn start(&self, tenant: &str, id: &str, now: &str, now_ms: i64, lease_ms: i64) -> Result<Start, StoreError> {
        let mut tasks = lock(&self.tasks);
        let task = tasks
            .get_mut(&(tenant.to_owned(), id.to_owned()))
            .ok_or(StoreError::NotFound)?;
        if task.status.is_finished() {
            return Ok(Start::Finished(task.clone()));
        }
        if task.status == TaskStatus::Running && task.lease_until.is_some_and(|l| l > now_ms) {
            return Ok(Start::Leased);
        }
        task.status = TaskStatus::Running;
        task.attempts += 1;
        task.started_at.get_or_insert_with(|| now.to_owned());
        task.lease_until = Some(now_ms + lease_ms);
        Ok(Start::Started(task.clone()))
    }

    async fn finish(
        &self,
        tenant: &str,
        id: &str,
        attempt: u32,
        now: &str,
        finish: &Finish,
    ) -> Result<bool, StoreError> {
        let mut tasks = lock(&self.tasks);
        let task = tasks
            .get_mut(&(tenant.to_owned(), id.to_owned()))
            .ok_or(StoreError::NotFound)?;
        if task.status != TaskStatus::Running || task.attempts != attempt {
            return Ok(false);
        }
        super::model::apply_finish(task, now, finish);
        Ok(true)
    }
}

impl TaskQueue for InMemory {
    async fn enqueue(&self, band: Band, message: &TaskMessage) -> anyhow::Result<()> {
        lock(&self.queued).push((band, message.clone()));
        Ok(())
    }

    async fn retry_later(&self, _queue_arn: &str, receipt_handle: &str, secs: u32) -> anyhow::Result<()> {
        lock(&self.delayed).push((receipt_handle.to_owned(), secs));
        Ok(())
    }
}
