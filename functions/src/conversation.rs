//! The contexts and tasks REST handlers, and the wiring shared by their bins.

use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;
use shared::audit::AuditLog;
use shared::aws::AwsClients;
use shared::conversation::dynamodb::contexts::DynamoDbContextStore;
use shared::conversation::dynamodb::tasks::DynamoDbTaskStore;
use shared::conversation::paging::{node_paging, page};
use shared::conversation::service::{ConversationError, Deps};
use shared::conversation::sqs::SqsTaskQueue;
use shared::conversation::store::{ContextStore, TaskQueue, TaskStore};
use shared::ids::IdKind;
use shared::providers::registry::Providers;
use shared::{ApiError, Config};

use crate::audit::{self, AuditDeps};
use crate::{auth, http};

/// The deployed stores, queue and providers.
pub type AwsDeps = Deps<DynamoDbContextStore, DynamoDbTaskStore, SqsTaskQueue>;

/// Builds the deployed dependencies once per cold start.
///
/// # Errors
/// When a task queue is not configured or an HTTP client cannot be built.
pub fn aws_deps(config: &Config, clients: &AwsClients) -> anyhow::Result<AwsDeps> {
    let queue = |name: &str| {
        config
            .queues
            .iter()
            .find(|q| q.name == name)
            .map(|q| q.url.clone())
            .ok_or_else(|| anyhow::anyhow!("QUEUE_URL_{} is not set", name.to_uppercase().replace('-', "_")))
    };
    Ok(Deps {
        contexts: DynamoDbContextStore::new(clients.dynamodb.clone(), config.table_name.clone()),
        tasks: DynamoDbTaskStore::new(clients.dynamodb.clone(), config.table_name.clone()),
        queue: SqsTaskQueue::new(
            clients.sqs.clone(),
            queue("task-high")?,
            queue("task-medium")?,
            queue("task-low")?,
        ),
        providers: Providers::new(
            &config.models,
            &config.credentials,
            config.provider_timeout,
            Some(&clients.sdk),
        )?,
        default_model: config.models.default_model.clone(),
        limits: config.limits,
    })
}

/// One place that maps conversation errors to HTTP.
#[must_use]
pub fn api_error(err: &ConversationError, request_id: &str) -> ApiError {
    match err {
        ConversationError::Invalid(i) => {
            ApiError::bad_request("INVALID_REQUEST", i.to_string()).with_details(json!({"field": i.field}))
        }
        ConversationError::ModelNotFound { available, .. } => {
            ApiError::bad_request("MODEL_NOT_FOUND", err.to_string()).with_details(json!({"available": available}))
        }
        ConversationError::ContextNotFound(_) => ApiError::not_found("CONTEXT_NOT_FOUND", err.to_string()),
        ConversationError::TaskNotFound(_) => ApiError::not_found("TASK_NOT_FOUND", err.to_string()),
        ConversationError::NodeNotFound(_) => ApiError::not_found("NODE_NOT_FOUND", err.to_string()),
        ConversationError::TaskFinished(..) => ApiError::new(409, "TASK_ALREADY_FINISHED", err.to_string()),
        ConversationError::ContextLimit { max, .. } => {
            ApiError::new(409, "CONTEXT_LIMIT_REACHED", err.to_string()).with_details(json!({"limit": max}))
        }
        ConversationError::ContextFull { max, .. } => {
            ApiError::new(409, "CONTEXT_FULL", err.to_string()).with_details(json!({"limit": max}))
        }
        ConversationError::ContextTooLarge { max, allowance, .. } => {
            ApiError::new(422, "CONTEXT_TOO_LARGE", err.to_string())
                .with_details(json!({"limit_bytes": max, "reply_allowance_bytes": allowance}))
        }
        ConversationError::Unknown(e) => {
            tracing::error!(error = %e, %request_id, "conversation operation failed");
            ApiError::internal()
        }
    }
}

pub(crate) fn body(req: &Request) -> Result<serde_json::Value, ApiError> {
    http::json_body(req, 1024 * 1024)
}

/// `POST /api/v1/mcp/contexts`.
pub async fn create<C: ContextStore, T: TaskStore, Q: TaskQueue, A: AuditLog>(
    deps: &Deps<C, T, Q>,
    audit_deps: &AuditDeps<A>,
    req: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let request_id = http::request_id(&req);
    let result = async {
        let principal = auth::principal(&req)?;
        let body = body(&req)?;
        let (context, task) = deps
            .create_context(&principal, &body, chrono::Utc::now())
            .await
            .map_err(|e| api_error(&e, &request_id))?;
        let shown = if body["return_context"] == true {
            json!(context)
        } else {
            json!({"context_id": context.context_id, "task_id": task.task_id})
        };
        Ok::<_, ApiError>((http::json(201, &shown), Some(context.context_id)))
    }
    .await;
    let (response, target) = result.unwrap_or_else(|e| (http::error(&e, &request_id), None));
    audit::record(audit_deps, &req, target, &response).await;
    Ok(response)
}

/// `GET /api/v1/mcp/contexts/{contextID}?limit=&cursor=`: the context with a page of its nodes.
pub async fn get<C: ContextStore, T: TaskStore, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    req: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let context_id = http::path_id(&req, IdKind::Context);
    let query = |name: &str| {
        req.query_string_parameters_ref()
            .and_then(|q| q.first(name))
            .map(str::to_owned)
    };
    let paging = node_paging(query("limit").as_deref(), query("cursor").as_deref());
    Ok(http::for_principal(&req, |principal, rid| async move {
        let (limit, after) = paging.map_err(|e| api_error(&e.into(), &rid))?;
        let context = deps.context(&principal, &context_id?, chrono::Utc::now()).await;
        let context = context.map_err(|e| api_error(&e, &rid))?;
        Ok(http::json(200, &page(context, after, limit)))
    })
    .await)
}

/// `POST /api/v1/mcp/contexts/{contextID}/prompt`: 202 with the pending task.
pub async fn prompt<C: ContextStore, T: TaskStore, Q: TaskQueue, A: AuditLog>(
    deps: &Deps<C, T, Q>,
    audit_deps: &AuditDeps<A>,
    req: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let request_id = http::request_id(&req);
    let context_id = http::path_id(&req, IdKind::Context);
    let result = async {
        let principal = auth::principal(&req)?;
        let context_id = context_id.clone()?;
        let body = body(&req)?;
        let task = deps
            .add_prompt(&principal, &context_id, &body, chrono::Utc::now())
            .await
            .map_err(|e| api_error(&e, &request_id))?;
        Ok::<_, ApiError>(http::json(
            202,
            &json!({"task_id": task.task_id, "status": task.status}),
        ))
    }
    .await;
    let response = result.unwrap_or_else(|e| http::error(&e, &request_id));
    audit::record(audit_deps, &req, context_id.ok(), &response).await;
    Ok(response)
}

/// `GET /api/v1/mcp/tasks/{taskID}`.
pub async fn task<C: ContextStore, T: TaskStore, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    req: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let task_id = http::path_id(&req, IdKind::Task);
    Ok(http::for_principal(&req, |principal, rid| async move {
        let task = deps.task(&principal, &task_id?, chrono::Utc::now()).await;
        Ok(http::json(200, &task.map_err(|e| api_error(&e, &rid))?))
    })
    .await)
}

#[cfg(test)]
mod tests;
