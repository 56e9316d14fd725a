//! Context edits and task cancellation: `POST /contexts/{id}/nodes`, `DELETE /contexts/{id}/nodes/{nodeID}`,
//! `DELETE /contexts/{id}`, `POST /tasks/{id}/cancel`. All audited.

use chrono::Utc;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::audit::AuditLog;
use shared::conversation::service::Deps;
use shared::conversation::store::{ContextEdits, ContextStore, TaskCancel, TaskQueue, TaskStore};

use crate::audit::{self, AuditDeps};
use crate::conversation::{api_error, body, path};
use crate::http;

type Result = std::result::Result<Response<Body>, lambda_http::Error>;

/// `POST /api/v1/mcp/contexts/{contextID}/nodes`.
pub async fn add_node<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue, A: AuditLog>(
    deps: &Deps<C, T, Q>,
    audit_deps: &AuditDeps<A>,
    req: Request,
) -> Result {
    let (context_id, req) = (path(&req, "contextID"), &req);
    let response = http::for_principal(req, |principal, rid| async move {
        let added = deps.add_node(&principal, &context_id, &body(req)?, Utc::now()).await;
        let (node, task) = added.map_err(|e| api_error(&e, &rid))?;
        Ok(http::json(201, &json!({"node": node, "task_id": task.task_id})))
    })
    .await;
    audit::record(audit_deps, req, Some(path(req, "contextID")), &response).await;
    Ok(response)
}

/// `DELETE /api/v1/mcp/contexts/{contextID}/nodes/{nodeID}`.
pub async fn delete_node<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue, A: AuditLog>(
    deps: &Deps<C, T, Q>,
    audit_deps: &AuditDeps<A>,
    req: Request,
) -> Result {
    let (context_id, node_id) = (path(&req, "contextID"), path(&req, "nodeID"));
    let response = http::for_principal(&req, |principal, rid| async move {
        let deleted = deps.delete_node(&principal, &context_id, &node_id, Utc::now()).await;
        let task = deleted.map_err(|e| api_error(&e, &rid))?;
        Ok(http::json(200, &json!({"deleted": node_id, "task_id": task.task_id})))
    })
    .await;
    audit::record(audit_deps, &req, Some(path(&req, "nodeID")), &response).await;
    Ok(response)
}

/// `DELETE /api/v1/mcp/contexts/{contextID}`.
pub async fn delete_context<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue, A: AuditLog>(
    deps: &Deps<C, T, Q>,
    audit_deps: &AuditDeps<A>,
    req: Request,
) -> Result {
    let context_id = path(&req, "contextID");
    let response = http::for_principal(&req, |principal, rid| async move {
        let task = deps
            .delete_context(&principal, &context_id, Utc::now())
            .await
            .map_err(|e| api_error(&e, &rid))?;
        Ok(http::json(
            200,
            &json!({"deleted": context_id, "task_id": task.task_id}),
        ))
    })
    .await;
    audit::record(audit_deps, &req, Some(path(&req, "contextID")), &response).await;
    Ok(response)
}

/// `POST /api/v1/mcp/tasks/{taskID}/cancel`.
pub async fn cancel<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue, A: AuditLog>(
    deps: &Deps<C, T, Q>,
    audit_deps: &AuditDeps<A>,
    req: Request,
) -> Result {
    let task_id = path(&req, "taskID");
    let response = http::for_principal(&req, |principal, rid| async move {
        let task = deps
            .cancel_task(&principal, &task_id, Utc::now())
            .await
            .map_err(|e| api_error(&e, &rid))?;
        Ok(http::json(200, &task))
    })
    .await;
    audit::record(audit_deps, &req, Some(path(&req, "taskID")), &response).await;
    Ok(response)
}
