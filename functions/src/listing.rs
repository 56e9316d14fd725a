//! `GET /api/v1/mcp/contexts` and `GET /api/v1/mcp/tasks`: newest first, `limit` and `cursor`.

use lambda_http::{Body, Request, RequestExt, Response};
use shared::conversation::listing::{paging, task_filter, ContextListing, TaskListing};
use shared::conversation::service::Deps;
use shared::conversation::store::{ContextStore, TaskQueue, TaskStore};
use shared::ApiError;

use crate::conversation::api_error;
use crate::{auth, http};

type Result = std::result::Result<Response<Body>, lambda_http::Error>;

fn query(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_owned)
}

/// `GET /api/v1/mcp/contexts?limit=&cursor=`.
pub async fn contexts<C: ContextStore + ContextListing, T: TaskStore + TaskListing, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    req: Request,
) -> Result {
    let request_id = http::request_id(&req);
    let outcome = async {
        let principal = auth::principal(&req)?;
        let (limit, after) = paging(query(&req, "limit").as_deref(), query(&req, "cursor").as_deref())
            .map_err(|e| api_error(&e, &request_id))?;
        let now = chrono::Utc::now().timestamp();
        let page = deps
            .list_contexts(&principal, limit, after.as_deref(), now)
            .await
            .map_err(|e| api_error(&e, &request_id))?;
        Ok::<_, ApiError>(http::json(
            200,
            &serde_json::json!({"contexts": page.items, "next_cursor": page.next_cursor}),
        ))
    }
    .await;
    Ok(outcome.unwrap_or_else(|e| http::error(&e, &request_id)))
}

/// `GET /api/v1/mcp/tasks?status=&type=&context_id=&user_id=&limit=&cursor=`.
pub async fn tasks<C: ContextStore + ContextListing, T: TaskStore + TaskListing, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    req: Request,
) -> Result {
    let request_id = http::request_id(&req);
    let outcome = async {
        let principal = auth::principal(&req)?;
        let fail = |e| api_error(&e, &request_id);
        let (limit, after) = paging(query(&req, "limit").as_deref(), query(&req, "cursor").as_deref()).map_err(fail)?;
        let (status, kind) = (query(&req, "status"), query(&req, "type"));
        let (context_id, user_id) = (query(&req, "context_id"), query(&req, "user_id"));
        let filter = task_filter(
            status.as_deref(),
            kind.as_deref(),
            context_id.as_deref(),
            user_id.as_deref(),
        )
        .map_err(fail)?;
        let now = chrono::Utc::now().timestamp();
        let page = deps
            .list_tasks(&principal, &filter, limit, after.as_deref(), now)
            .await
            .map_err(fail)?;
        Ok::<_, ApiError>(http::json(
            200,
            &serde_json::json!({"tasks": page.items, "next_cursor": page.next_cursor}),
        ))
    }
    .await;
    Ok(outcome.unwrap_or_else(|e| http::error(&e, &request_id)))
}
