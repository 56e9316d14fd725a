//! The tasks' operations of their own: read one, cancel one.

use chrono::{DateTime, Utc};

use super::model::{Task, TaskStatus};
use super::store::{TaskCancel, TaskQueue, TaskStore};
use crate::auth::Principal;
use crate::contexts::store::ContextStore;
use crate::conversation::errors::ConversationError;
use crate::conversation::service::{stamp, Deps};
impl<C: ContextStore, T: TaskStore, Q: TaskQueue> Deps<C, T, Q> {
    /// The tenant's task, unless its retention ran out (DynamoDB's TTL deletes it late).
    ///
    /// # Errors
    /// [`ConversationError::TaskNotFound`] for a missing, foreign or expired task.
    pub async fn task(&self, principal: &Principal, id: &str, now: DateTime<Utc>) -> Result<Task, ConversationError> {
        match self.tasks.get(&principal.tenant, id).await? {
            Some(t) if !t.expired(now.timestamp()) => Ok(t),
            _ => Err(ConversationError::TaskNotFound(id.to_owned())),
        }
    }
}

impl<C: ContextStore, T: TaskStore + TaskCancel, Q: TaskQueue> Deps<C, T, Q> {
    /// `POST /tasks/{id}/cancel`: a pending task never runs; a running one is marked cancelled and its
    /// late result is discarded.
    ///
    /// # Errors
    /// [`ConversationError::TaskNotFound`], or [`ConversationError::TaskFinished`] for a finished task.
    pub async fn cancel_task(
        &self,
        principal: &Principal,
        task_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Task, ConversationError> {
        let before = self.task(principal, task_id, now).await?;
        if before.task_type == crate::tasks::model::TaskType::PipelineStage {
            // Its token, its agent and its execution's record go with it: only the execution's cancel
            // ends all three.
            return Err(ConversationError::StageTask(task_id.to_owned()));
        }
        if before.status.is_finished() {
            return Err(ConversationError::TaskFinished(
                task_id.to_owned(),
                before.status.as_str(),
            ));
        }
        let after = self.tasks.cancel(&principal.tenant, task_id, &stamp(now)).await?;
        let after = after.ok_or_else(|| ConversationError::TaskNotFound(task_id.to_owned()))?;
        match after.status {
            TaskStatus::Cancelled => {
                self.finished(&after).await;
                Ok(after)
            }
            other => Err(ConversationError::TaskFinished(task_id.to_owned(), other.as_str())),
        }
    }
}
