//! Context edits and task cancellation: `POST /contexts/{id}/nodes`, `DELETE /contexts/{id}/nodes/{nodeID}`,
//! `DELETE /contexts/{id}`, `POST /tasks/{id}/cancel`. All audited; a malformed path id is answered 404
//! before any I/O and recorded without a target.

use chrono::Utc;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::audit::AuditLog;
use shared::conversation::service::Deps;
use shared::conversation::store::{ContextEdits, ContextStore, TaskCancel, TaskQueue, TaskStore};
use shared::ids::IdKind;

use crate::audit::{self, AuditDeps};
use crate::conversation::{api_error, body};
use crate::http::{self, path_id};

type Result = std::result::Result<Response<Body>, lambda_http::Error>;

/// `POST /api/v1/mcp/contexts/{contextID}/nodes`.
pub async fn add_node<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue, A: AuditLog>(
    deps: &Deps<C, T, Q>,
    audit_deps: &AuditDeps<A>,
    req: Request,
) -> Result {
    let (context_id, req) = (path_id(&req, IdKind::Context), &req);
    let response = http::for_principal(req, |principal, rid| {
        let context_id = context_id.clone();
        async move {
            let added = deps.add_node(&principal, &context_id?, &body(req)?, Utc::now()).await;
            let (node, task) = added.map_err(|e| api_error(&e, &rid))?;
            Ok(http::json(201, &json!({"node": node, "task_id": task.task_id})))
        }
    })
    .await;
    audit::record(audit_deps, req, context_id.ok(), &response).await;
    Ok(response)
}

/// `DELETE /api/v1/mcp/contexts/{contextID}/nodes/{nodeID}`.
pub async fn delete_node<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue, A: AuditLog>(
    deps: &Deps<C, T, Q>,
    audit_deps: &AuditDeps<A>,
    req: Request,
) -> Result {
    let (context_id, node_id) = (path_id(&req, IdKind::Context), path_id(&req, IdKind::Node));
    let target = node_id.clone().ok();
    let response = http::for_principal(&req, |principal, rid| async move {
        let (context_id, node_id) = (context_id?, node_id?);
        let deleted = deps.delete_node(&principal, &context_id, &node_id, Utc::now()).await;
        let task = deleted.map_err(|e| api_error(&e, &rid))?;
        Ok(http::json(200, &json!({"deleted": node_id, "task_id": task.task_id})))
    })
    .await;
    audit::record(audit_deps, &req, target, &response).await;
    Ok(response)
}

/// `DELETE /api/v1/mcp/contexts/{contextID}`.
pub async fn delete_context<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue, A: AuditLog>(
    deps: &Deps<C, T, Q>,
    audit_deps: &AuditDeps<A>,
    req: Request,
) -> Result {
    let context_id = path_id(&req, IdKind::Context);
    let target = context_id.clone().ok();
    let response = http::for_principal(&req, |principal, rid| async move {
        let context_id = context_id?;
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
    audit::record(audit_deps, &req, target, &response).await;
    Ok(response)
}

/// `POST /api/v1/mcp/tasks/{taskID}/cancel`.
pub async fn cancel<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue, A: AuditLog>(
    deps: &Deps<C, T, Q>,
    audit_deps: &AuditDeps<A>,
    req: Request,
) -> Result {
    let task_id = path_id(&req, IdKind::Task);
    let target = task_id.clone().ok();
    let response = http::for_principal(&req, |principal, rid| async move {
        let task = deps
            .cancel_task(&principal, &task_id?, Utc::now())
            .await
            .map_err(|e| api_error(&e, &rid))?;
        Ok(http::json(200, &task))
    })
    .await;
    audit::record(audit_deps, &req, target, &response).await;
    Ok(response)
}

#[cfg(test)]
mod tests;
