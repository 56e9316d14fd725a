//! Port: the tasks of pipeline stages. A stage attempt is a task like any other (`type`
//! `pipeline.stage`, read by `GET /api/v1/tasks/{id}`), written already assigned to an agent, with
//! the Step Functions task token its agent's reports answer, and an entry in that agent's inbox.

use std::future::Future;

use super::model::Task;
use crate::conversation::store::StoreError;

/// Port: stage tasks, always within a tenant.
pub trait StageTasks: Send + Sync {
    /// Writes a pending stage task, its token and its entry in its agent's inbox, in one transaction;
    /// `false` when the task exists already.
    fn assign(&self, task: &Task, token: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Claims the agent's oldest assigned task, `pending → running`, removing its inbox entry in the
    /// same transaction; the task and its token. Entries of tasks that are no longer pending
    /// (cancelled) are removed on the way.
    fn claim_next(
        &self,
        tenant: &str,
        agent_id: &str,
        now: &str,
    ) -> impl Future<Output = Result<Option<(Task, String)>, StoreError>> + Send;
    /// Reserves the agent for `task_id`: `false` when it holds another task that has not ended (a
    /// reservation whose task has ended, or never came within a minute, is taken over). Reserving
    /// again for the same task is `true`.
    fn reserve(
        &self,
        tenant: &str,
        agent_id: &str,
        task_id: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Frees the agent, if it is reserved for `task_id`.
    fn release(
        &self,
        tenant: &str,
        agent_id: &str,
        task_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The task and its token.
    fn with_token(
        &self,
        tenant: &str,
        task_id: &str,
    ) -> impl Future<Output = Result<Option<(Task, String)>, StoreError>> + Send;
    /// Replaces `before` (as read) by `after`; `false` when the task changed in between. A task that
    /// ends frees its agent.
    fn replace(
        &self,
        before: &Task,
        after: &Task,
        token: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
