//! The agent protocol: `GET /api/v1/agents/{agentID}/tasks/next` (claim, long-polling),
//! `POST /api/v1/tasks/{taskID}/progress|complete|fail`. Each takes the agent's own token; a report
//! is answered with the task as it is now, or `409` (`TASK_CANCELLED`, `TASK_ATTEMPT_OVER`,
//! `TASK_TIMED_OUT`) when the agent should stop.

use std::time::Duration;

use lambda_http::Request;
use serde_json::json;
use shared::agents::store::AgentStore;
use shared::pipelines::engine::Engine;
use shared::pipelines::executions::store::ExecutionStore;
use shared::pipelines::runs::Runs;
use shared::pipelines::work::{self, MAX_WAIT};
use shared::tasks::stages::StageTasks;
use shared::ApiError;

use crate::api::requests::{query, AgentPath, IdWithBody, TaskPath};
use crate::api::{ApiRequest, Authorized, Reply};
use crate::http;

/// `GET /agents/{agentID}/tasks/next?wait=<0–20 seconds, 20 by default>`.
pub struct NextTask {
    pub agent_id: String,
    pub wait: Duration,
}

impl ApiRequest for NextTask {
    fn parse(req: &Request) -> Result<Self, ApiError> {
        let agent_id = http::path_id(req, <AgentPath as crate::api::requests::PathKind>::ID)?;
        let wait = match query(req, "wait") {
            None => MAX_WAIT,
            Some(w) => w
                .parse::<u64>()
                .ok()
                .filter(|w| *w <= MAX_WAIT.as_secs())
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "INVALID_REQUEST",
                        format!("wait must be 0 to {} seconds", MAX_WAIT.as_secs()),
                    )
                    .with_details(json!({"field": "wait"}))
                })?,
        };
        Ok(Self { agent_id, wait })
    }
}

/// The claimed task (`200`), or `{"task": null}` when none came within the wait.
///
/// # Errors
/// `NOT_THIS_AGENT` (403), `AGENT_NOT_FOUND`, a store failure.
pub async fn next<P: Send + Sync, X: ExecutionStore, E: Engine, A: AgentStore, T: StageTasks>(
    runs: &Runs<P, X, E, A, T>,
    req: Authorized<NextTask>,
) -> Result<Reply, ApiError> {
    let task = runs
        .next(&req.principal, &req.request.agent_id, req.request.wait)
        .await?;
    Ok(Reply::ok(&json!({ "task": task })))
}

/// `POST /tasks/{taskID}/progress` with `progress` (0–1) and `logs`.
///
/// # Errors
/// A wrong field, `TASK_NOT_FOUND`, `NOT_YOUR_TASK` (403), `TASK_CANCELLED` / `TASK_ATTEMPT_OVER` / `TASK_TIMED_OUT` (409).
pub async fn progress<P: Send + Sync, X: ExecutionStore, E: Engine, A: AgentStore, T: StageTasks>(
    runs: &Runs<P, X, E, A, T>,
    req: Authorized<IdWithBody<TaskPath>>,
) -> Result<Reply, ApiError> {
    let report = work::progress_report(&req.request.body)?;
    Ok(Reply::ok(
        &runs.progress(&req.principal, &req.request.id, report).await?,
    ))
}

/// `POST /tasks/{taskID}/complete` with `output`.
///
/// # Errors
/// As [`progress`].
pub async fn complete<P: Send + Sync, X: ExecutionStore, E: Engine, A: AgentStore, T: StageTasks>(
    runs: &Runs<P, X, E, A, T>,
    req: Authorized<IdWithBody<TaskPath>>,
) -> Result<Reply, ApiError> {
    let output = work::completion(&req.request.body)?;
    Ok(Reply::ok(
        &runs.complete(&req.principal, &req.request.id, output).await?,
    ))
}

/// `POST /tasks/{taskID}/fail` with `error`.
///
/// # Errors
/// As [`progress`].
pub async fn fail<P: Send + Sync, X: ExecutionStore, E: Engine, A: AgentStore, T: StageTasks>(
    runs: &Runs<P, X, E, A, T>,
    req: Authorized<IdWithBody<TaskPath>>,
) -> Result<Reply, ApiError> {
    let error = work::failure(&req.request.body)?;
    Ok(Reply::ok(&runs.fail(&req.principal, &req.request.id, error).await?))
}
