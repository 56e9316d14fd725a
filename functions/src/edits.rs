//! Context edits and task cancellation: `POST /contexts/{id}/nodes`, `DELETE /contexts/{id}/nodes/{nodeID}`,
//! `DELETE /contexts/{id}`, `POST /tasks/{id}/cancel`. All audited.

use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::audit::AuditLog;
use shared::conversation::service::Deps;
use shared::conversation::store::{ContextEdits, ContextStore, TaskCancel, TaskQueue, TaskStore};
use shared::ApiError;

use crate::audit::{self, AuditDeps};
use crate::conversation::{api_error, body, path};
use crate::{auth, http};

type Result = std::result::Result<Response<Body>, lambda_http::Error>;

async fn audited<A: AuditLog>(
    audit_deps: &AuditDeps<A>,
    req: &Request,
    target: String,
    outcome: std::result::Result<Response<Body>, ApiError>,
) -> Result {
    let response = outcome.unwrap_or_else(|e| http::error(&e, &http::request_id(req)));
    audit::record(audit_deps, req, Some(target), &response).await;
    Ok(response)
}

/// `POST /api/v1/mcp/contexts/{contextID}/nodes`.
pub async fn add_node<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue, A: AuditLog>(
    deps: &Deps<C, T, Q>,
    audit_deps: &AuditDeps<A>,
    req: Request,
) -> Result {
    let (request_id, context_id) = (http::request_id(&req), path(&req, "contextID"));
    let outcome = async {
        let principal = auth::principal(&req)?;
        let (node, task) = deps
            .add_node(&principal, &context_id, &body(&req)?, chrono::Utc::now())
            .await
            .map_err(|e| api_error(&e, &request_id))?;
        Ok(http::json(201, &json!({"node": node, "task_id": task.task_id})))
    }
    .await;
    audited(audit_deps, &req, context_id.clone(), outcome).await
}

/// `DELETE /api/v1/mcp/contexts/{contextID}/nodes/{nodeID}`.
pub async fn delete_node<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue, A: AuditLog>(
    deps: &Deps<C, T, Q>,
    audit_deps: &AuditDeps<A>,
    req: Request,
) -> Result {
    let (request_id, context_id, node_id) = (http::request_id(&req), path(&req, "contextID"), path(&req, "nodeID"));
    let outcome = async {
        let principal = auth::principal(&req)?;
        let task = deps
            .delete_node(&principal, &context_id, &node_id, chrono::Utc::now())
            .await
            .map_err(|e| api_error(&e, &request_id))?;
        Ok(http::json(200, &json!({"deleted": node_id, "task_id": task.task_id})))
    }
    .await;
    audited(audit_deps, &req, node_id.clone(), outcome).await
}

/// `DELETE /api/v1/mcp/contexts/{contextID}`.
pub async fn delete_context<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue, A: AuditLog>(
    deps: &Deps<C, T, Q>,
    audit_deps: &AuditDeps<A>,
    req: Request,
) -> Result {
    let (request_id, context_id) = (http::request_id(&req), path(&req, "contextID"));
    let outcome = async {
        let principal = auth::principal(&req)?;
        let task = deps
            .delete_context(&principal, &context_id, chrono::Utc::now())
            .await
            .map_err(|e| api_error(&e, &request_id))?;
        Ok(http::json(
            200,
            &json!({"deleted": context_id, "task_id": task.task_id}),
        ))
    }
    .await;
    audited(audit_deps, &req, context_id.clone(), outcome).await
}

/// `POST /api/v1/mcp/tasks/{taskID}/cancel`.
pub async fn cancel<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue, A: AuditLog>(
    deps: &Deps<C, T, Q>,
    audit_deps: &AuditDeps<A>,
    req: Request,
) -> Result {
    let (request_id, task_id) = (http::request_id(&req), path(&req, "taskID"));
    let outcome = async {
        let principal = auth::principal(&req)?;
        let task = deps
            .cancel_task(&principal, &task_id, chrono::Utc::now())
            .await
            .map_err(|e| api_error(&e, &request_id))?;
        Ok(http::json(200, &task))
    }
    .await;
    audited(audit_deps, &req, task_id.clone(), outcome).await
}
