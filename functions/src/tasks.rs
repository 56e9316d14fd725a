//! The tasks REST routes (`/api/v1/mcp/tasks…` in `template.yaml`), one handler each; the bin of each
//! route is `src/bin/tasks-<handler>.rs`. A cancel is audited.

use chrono::Utc;
use lambda_http::Request;
use serde_json::json;
use shared::contexts::listing::ContextListing;
use shared::contexts::store::{ContextEdits, ContextStore};
use shared::conversation::service::Deps;
use shared::tasks::listing::{task_filter, TaskFilter, TaskListing};
use shared::tasks::store::{TaskCancel, TaskQueue, TaskStore};
use shared::ApiError;

use crate::api::requests::{query, Id, TaskPath};
use crate::api::{ApiRequest, Authorized, Reply};
use crate::contexts::Page;

/// `GET /tasks?status=&type=&context_id=&user_id=&limit=&cursor=`.
pub struct ListTasks {
    pub filter: TaskFilter,
    pub page: Page,
}

impl ApiRequest for ListTasks {
    fn parse(req: &Request) -> Result<Self, ApiError> {
        let page = Page::parse(req)?;
        let filter = task_filter(
            query(req, "status").as_deref(),
            query(req, "type").as_deref(),
            query(req, "context_id").as_deref(),
            query(req, "user_id").as_deref(),
        )?;
        Ok(Self { filter, page })
    }
}

/// `GET /api/v1/mcp/tasks/{taskID}`.
///
/// # Errors
/// `TASK_NOT_FOUND` (also for another tenant's task), a store failure.
pub async fn get<C: ContextStore, T: TaskStore, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    req: Authorized<Id<TaskPath>>,
) -> Result<Reply, ApiError> {
    Ok(Reply::ok(
        &deps.task(&req.principal, &req.request.id, Utc::now()).await?,
    ))
}

/// `GET /api/v1/mcp/tasks?…`: the tenant's tasks, newest first, filtered.
///
/// # Errors
/// A store failure.
pub async fn list<C: ContextStore + ContextListing, T: TaskStore + TaskListing, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    req: Authorized<ListTasks>,
) -> Result<Reply, ApiError> {
    let ListTasks { filter, page } = &req.request;
    let now = Utc::now().timestamp();
    let found = deps
        .list_tasks(&req.principal, filter, page.limit, page.after.as_deref(), now)
        .await?;
    Ok(Reply::ok(
        &json!({"tasks": found.items, "next_cursor": found.next_cursor}),
    ))
}

/// `POST /api/v1/mcp/tasks/{taskID}/cancel`: the cancelled task.
///
/// # Errors
/// An unknown task, one already finished (`409`), a store failure.
pub async fn cancel<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    req: Authorized<Id<TaskPath>>,
) -> Result<Reply, ApiError> {
    Ok(Reply::ok(
        &deps.cancel_task(&req.principal, &req.request.id, Utc::now()).await?,
    ))
}

#[cfg(test)]
mod tests;
