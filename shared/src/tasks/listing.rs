//! Listing a tenant's tasks, newest first, filtered.

use std::future::Future;

use super::model::{Task, TaskStatus, TaskType};
use super::store::{TaskQueue, TaskStore};
use crate::auth::Principal;
use crate::contexts::store::ContextStore;
use crate::conversation::errors::ConversationError;
use crate::conversation::listing::{cursor, invalid, Page};
use crate::conversation::service::Deps;
use crate::conversation::store::StoreError;
use crate::ids::IdKind;

/// Which tasks to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    pub status: Option<TaskStatus>,
    pub task_type: Option<TaskType>,
    pub context_id: Option<String>,
    pub user_id: Option<String>,
}

impl TaskFilter {
    #[must_use]
    pub fn matches(&self, t: &Task) -> bool {
        self.status.is_none_or(|s| s == t.status)
            && self.task_type.is_none_or(|k| k == t.task_type)
            && self
                .context_id
                .as_ref()
                .is_none_or(|c| t.context_id.as_ref() == Some(c))
            && self.user_id.as_ref().is_none_or(|u| t.user_id.as_ref() == Some(u))
    }
}

/// Port: a tenant's tasks, newest first, after the task id `after`, that match `filter` and have not
/// expired by `now_secs`. Every filter is served from a key (see the DynamoDB adapter's indexes).
pub trait TaskListing: Send + Sync {
    fn list_tasks(
        &self,
        tenant: &str,
        filter: &TaskFilter,
        limit: usize,
        after: Option<&str>,
        now_secs: i64,
    ) -> impl Future<Output = Result<(Vec<Task>, Option<String>), StoreError>> + Send;
}

fn from<T: serde::de::DeserializeOwned>(v: &str) -> Result<T, serde_json::Error> {
    serde_json::from_value(serde_json::Value::String(v.to_owned()))
}

/// Parses the task filters of `GET /tasks`. Each becomes a DynamoDB key, so a value no task can have
/// (a context id of another format, a user id longer than a request may give) is refused.
///
/// # Errors
/// [`ConversationError::Invalid`] naming `status`, `type`, `context_id` or `user_id`.
pub fn task_filter(
    status: Option<&str>,
    kind: Option<&str>,
    context_id: Option<&str>,
    user_id: Option<&str>,
) -> Result<TaskFilter, ConversationError> {
    let status = status
        .map(|v| {
            from::<TaskStatus>(v)
                .map_err(|_| invalid("status", "must be pending, running, completed, failed or cancelled"))
        })
        .transpose()?;
    let kinds = "must be mcp.create_context, mcp.add_prompt, mcp.add_node, mcp.delete_node, mcp.delete_context or ai.completion";
    let task_type = kind
        .map(|v| from::<TaskType>(v).map_err(|_| invalid("type", kinds)))
        .transpose()?;
    if context_id.is_some_and(|c| !IdKind::Context.matches(c)) {
        return Err(invalid(
            "context_id",
            "must be a context id: ctx_ and 28 lowercase hex digits",
        ));
    }
    if user_id.is_some_and(|u| u.is_empty() || u.len() > 128) {
        return Err(invalid("user_id", "must be 1 to 128 bytes"));
    }
    Ok(TaskFilter {
        status,
        task_type,
        context_id: context_id.map(str::to_owned),
        user_id: user_id.map(str::to_owned),
    })
}

impl<C: ContextStore, T: TaskStore + TaskListing, Q: TaskQueue> Deps<C, T, Q> {
    /// The tenant's unexpired tasks that match `filter`, newest first.
    ///
    /// # Errors
    /// [`ConversationError::Invalid`] naming `cursor` when it holds no task id; a store failure.
    pub async fn list_tasks(
        &self,
        principal: &Principal,
        filter: &TaskFilter,
        limit: usize,
        after: Option<&str>,
        now_secs: i64,
    ) -> Result<Page<Task>, ConversationError> {
        if after.is_some_and(|a| !IdKind::Task.matches(a)) {
            return Err(invalid("cursor", "is not a cursor this API issued"));
        }
        let tenant = &principal.tenant;
        let (items, last) = self.tasks.list_tasks(tenant, filter, limit, after, now_secs).await?;
        Ok(Page {
            items,
            next_cursor: last.as_deref().map(cursor),
        })
    }
}
