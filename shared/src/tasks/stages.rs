//! Port: the tasks of pipeline stages. A stage is a task like any other (`type` `pipeline.stage`,
//! read by `GET /api/v1/tasks/{id}`), one task for all its attempts: each attempt assigns it again
//! (`attempts` counts them) to an agent, with the Step Functions task token of that attempt, which
//! its agent's reports answer, and an entry in that agent's inbox.

use std::future::Future;

use super::model::Task;
use crate::conversation::store::StoreError;

/// Port: stage tasks, always within a tenant.
pub trait StageTasks: Send + Sync {
    /// Writes a stage task's attempt, pending, with its token and its entry in its agent's inbox, in
    /// one transaction: a new task, or one that is still `previous` (as read) replaced by its next
    /// attempt; `false` when the task exists already, or changed since `previous` was read.
    fn assign(
        &self,
        task: &Task,
        token: &str,
        previous: Option<&Task>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Writes a new stage task before its first attempt (a submitted task, pending until an agent is
    /// found); `false` when it exists already.
    fn add(&self, task: &Task) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Claims the agent's oldest assigned task, `pending → running`, removing its inbox entry in the
    /// same transaction; the task and its token. Entries of tasks that are no longer pending
    /// (cancelled) are removed on the way.
    fn claim_next(
        &self,
        tenant: &str,
        agent_id: &str,
        now: &str,
    ) -> impl Future<Output = Result<Option<(Task, String)>, StoreError>> + Send;
    /// Reserves the agent for attempt `attempt` of `task_id`: `false` when it holds another attempt
    /// that has not ended (a reservation whose attempt has ended, or whose task never came within a
    /// minute, is taken over). Reserving again for the same attempt is `true`.
    fn reserve(
        &self,
        tenant: &str,
        agent_id: &str,
        attempt: (&str, u32),
        now_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Frees the agent, if it is reserved for attempt `attempt` of `task_id`.
    fn release(
        &self,
        tenant: &str,
        agent_id: &str,
        attempt: (&str, u32),
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A stage task and the token of its current attempt (empty before its first attempt).
    fn with_token(
        &self,
        tenant: &str,
        task_id: &str,
    ) -> impl Future<Output = Result<Option<(Task, String)>, StoreError>> + Send;
    /// Replaces `before` (as read) by `after`; `false` when the task changed in between. An attempt
    /// that ends (the task finished, or retrying) frees its agent.
    fn replace(
        &self,
        before: &Task,
        after: &Task,
        token: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
