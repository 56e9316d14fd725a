//! The contexts REST routes (`/api/v1/mcp/contexts…` in `template.yaml`), one handler each; the bin of
//! each route is `src/bin/contexts-<handler>.rs`. Mutations are audited.

use chrono::Utc;
use lambda_http::Request;
use serde_json::json;
use shared::contexts::listing::ContextListing;
use shared::contexts::paging::{node_paging, page};
use shared::contexts::store::{ContextEdits, ContextStore};
use shared::conversation::listing::paging;
use shared::conversation::service::Deps;
use shared::ids::IdKind;
use shared::tasks::listing::TaskListing;
use shared::tasks::store::{TaskCancel, TaskQueue, TaskStore};
use shared::ApiError;

use crate::api::requests::{query, ContextPath, Id, IdWithBody, NewItem};
use crate::api::{ApiRequest, Authorized, Reply};
use crate::http;

/// `GET /contexts/{contextID}?limit=&cursor=`: the id and a page of nodes.
pub struct GetContext {
    pub context_id: String,
    pub limit: usize,
    pub after: u64,
}

impl ApiRequest for GetContext {
    fn parse(req: &Request) -> Result<Self, ApiError> {
        let (limit, after) = node_paging(query(req, "limit").as_deref(), query(req, "cursor").as_deref())?;
        let context_id = http::path_id(req, IdKind::Context)?;
        Ok(Self {
            context_id,
            limit,
            after,
        })
    }
}

/// `GET /contexts?limit=&cursor=` (and the same paging of `GET /tasks`).
pub struct Page {
    pub limit: usize,
    pub after: Option<String>,
}

impl ApiRequest for Page {
    fn parse(req: &Request) -> Result<Self, ApiError> {
        let (limit, after) = paging(query(req, "limit").as_deref(), query(req, "cursor").as_deref())?;
        Ok(Self { limit, after })
    }
}

/// `DELETE /contexts/{contextID}/nodes/{nodeID}`: the node is the audit target.
pub struct NodePath {
    pub context_id: String,
    pub node_id: String,
}

impl ApiRequest for NodePath {
    fn parse(req: &Request) -> Result<Self, ApiError> {
        Ok(Self {
            context_id: http::path_id(req, IdKind::Context)?,
            node_id: http::path_id(req, IdKind::Node)?,
        })
    }

    fn target(&self) -> Option<String> {
        Some(self.node_id.clone())
    }

    fn target_unparsed(req: &Request) -> Option<String> {
        http::path_id(req, IdKind::Node).ok()
    }
}

/// `POST /api/v1/mcp/contexts`: 201 with the ids, or the whole context when `return_context` is set.
///
/// # Errors
/// The body's field errors, an unknown model, the caller's context quota, a store failure.
pub async fn create<C: ContextStore, T: TaskStore, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    req: Authorized<NewItem<ContextPath>>,
) -> Result<Reply, ApiError> {
    let body = &req.request.body;
    let (context, task) = deps.create_context(&req.principal, body, Utc::now()).await?;
    let id = context.context_id.clone();
    let shown = if body["return_context"] == true {
        json!(context)
    } else {
        json!({"context_id": context.context_id, "task_id": task.task_id})
    };
    Ok(Reply::new(201, &shown).about(id))
}

/// `GET /api/v1/mcp/contexts/{contextID}?limit=&cursor=`: the context with a page of its nodes.
///
/// # Errors
/// `CONTEXT_NOT_FOUND` (also for another tenant's context), a store failure.
pub async fn get<C: ContextStore, T: TaskStore, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    req: Authorized<GetContext>,
) -> Result<Reply, ApiError> {
    let GetContext {
        context_id,
        limit,
        after,
    } = req.request;
    let context = deps.context(&req.principal, &context_id, Utc::now()).await?;
    Ok(Reply::ok(&page(context, after, limit)))
}

/// `GET /api/v1/mcp/contexts?limit=&cursor=`: the tenant's contexts, newest first.
///
/// # Errors
/// A store failure.
pub async fn list<C: ContextStore + ContextListing, T: TaskStore + TaskListing, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    req: Authorized<Page>,
) -> Result<Reply, ApiError> {
    let Page { limit, after } = req.request;
    let now = Utc::now().timestamp();
    let page = deps.list_contexts(&req.principal, limit, after.as_deref(), now).await?;
    Ok(Reply::ok(
        &json!({"contexts": page.items, "next_cursor": page.next_cursor}),
    ))
}

/// `POST /api/v1/mcp/contexts/{contextID}/prompt`: 202 with the pending task.
///
/// # Errors
/// The body's field errors, an unknown context, a full context, a store or queue failure.
pub async fn prompt<C: ContextStore, T: TaskStore, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    req: Authorized<IdWithBody<ContextPath>>,
) -> Result<Reply, ApiError> {
    let IdWithBody { id, body, .. } = &req.request;
    let task = deps.add_prompt(&req.principal, id, body, Utc::now()).await?;
    Ok(Reply::new(
        202,
        &json!({"task_id": task.task_id, "status": task.status}),
    ))
}

/// `POST /api/v1/mcp/contexts/{contextID}/nodes`: 201 with the node.
///
/// # Errors
/// The body's field errors, an unknown or full context, a store failure.
pub async fn add_node<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    req: Authorized<IdWithBody<ContextPath>>,
) -> Result<Reply, ApiError> {
    let IdWithBody { id, body, .. } = &req.request;
    let (node, task) = deps.add_node(&req.principal, id, body, Utc::now()).await?;
    Ok(Reply::new(201, &json!({"node": node, "task_id": task.task_id})))
}

/// `DELETE /api/v1/mcp/contexts/{contextID}/nodes/{nodeID}`.
///
/// # Errors
/// An unknown context or node, a store failure.
pub async fn delete_node<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    req: Authorized<NodePath>,
) -> Result<Reply, ApiError> {
    let NodePath { context_id, node_id } = &req.request;
    let task = deps
        .delete_node(&req.principal, context_id, node_id, Utc::now())
        .await?;
    Ok(Reply::ok(&json!({"deleted": node_id, "task_id": task.task_id})))
}

/// `DELETE /api/v1/mcp/contexts/{contextID}`.
///
/// # Errors
/// An unknown context, a store failure.
pub async fn delete<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    req: Authorized<Id<ContextPath>>,
) -> Result<Reply, ApiError> {
    let context_id = &req.request.id;
    let task = deps.delete_context(&req.principal, context_id, Utc::now()).await?;
    Ok(Reply::ok(&json!({"deleted": context_id, "task_id": task.task_id})))
}

#[cfg(test)]
mod tests;
