//! `/api/v1/pipelines/{pipelineID}/execute` and `…/executions/{executionID}`: start a pipeline, read an
//! execution, cancel it; `POST /api/v1/tasks`: run one stage of a pipeline on its own. Starting,
//! submitting and cancelling are audited.

use chrono::Utc;
use lambda_http::Request;
use serde_json::json;
use shared::ids::IdKind;
use shared::pipelines::engine::Engine;
use shared::pipelines::executions::store::ExecutionStore;
use shared::pipelines::runs::Runs;
use shared::pipelines::store::PipelineStore;
use shared::tasks::stages::StageTasks;
use shared::ApiError;

use crate::api::requests::{id_cursor, page_limit, IdWithBody, NewItem, PipelinePath, TaskPath};
use crate::api::{ApiRequest, Authorized, Reply};
use crate::http;

/// A route on one execution of one pipeline.
pub struct ExecutionPath {
    pub pipeline_id: String,
    pub execution_id: String,
}

impl ApiRequest for ExecutionPath {
    fn parse(req: &Request) -> Result<Self, ApiError> {
        Ok(Self {
            pipeline_id: http::path_id(req, IdKind::Pipeline)?,
            execution_id: http::path_id(req, IdKind::Execution)?,
        })
    }

    fn target(&self) -> Option<String> {
        Some(self.execution_id.clone())
    }
}

/// Executions in one page of `GET …/executions` by default, and at most.
pub const DEFAULT_PAGE: usize = 20;
pub const MAX_PAGE: usize = 100;

/// `GET /api/v1/pipelines/{pipelineID}/executions?limit=&cursor=`: the pipeline, a page size, and the
/// execution the page starts after.
pub struct ExecutionsPage {
    pub pipeline_id: String,
    pub limit: usize,
    pub after: Option<String>,
}

impl ApiRequest for ExecutionsPage {
    fn parse(req: &Request) -> Result<Self, ApiError> {
        let pipeline_id = http::path_id(req, IdKind::Pipeline)?;
        let limit = page_limit(req, DEFAULT_PAGE, MAX_PAGE)?;
        let after = id_cursor(req, IdKind::Execution)?;
        Ok(Self {
            pipeline_id,
            limit,
            after,
        })
    }
}

/// `GET /api/v1/pipelines/{pipelineID}/executions?limit=&cursor=`: the pipeline's executions, newest
/// first, each as `GET` of it shows it without its input, parameters and stage outputs; `next_cursor`
/// when more follow.
///
/// # Errors
/// A bad `limit` or `cursor` (`400`), `PIPELINE_NOT_FOUND` (another tenant's too), a store failure.
pub async fn list<P: PipelineStore, X: ExecutionStore, E, A, T>(
    runs: &Runs<P, X, E, A, T>,
    req: Authorized<ExecutionsPage>,
) -> Result<Reply, ApiError> {
    let r = &req.request;
    let (executions, next) = runs
        .executions(&req.principal, &r.pipeline_id, r.limit, r.after.as_deref())
        .await?;
    let executions: Vec<_> = executions
        .iter()
        .map(shared::pipelines::executions::Execution::summary)
        .collect();
    Ok(Reply::ok(&json!({ "executions": executions, "next_cursor": next })))
}

/// `POST /api/v1/pipelines/{pipelineID}/execute` with `input_data`, `parameters`, `notification`:
/// the execution (`202`), running; with a webhook, the signing secret shown this once.
///
/// # Errors
/// A wrong field, `PIPELINE_NOT_FOUND`, a store or Step Functions failure.
pub async fn start<P: PipelineStore, X: ExecutionStore, E: Engine, A, T: StageTasks>(
    runs: &Runs<P, X, E, A, T>,
    req: Authorized<IdWithBody<PipelinePath>>,
) -> Result<Reply, ApiError> {
    let execution = runs
        .execute(&req.principal, &req.request.id, &req.request.body, Utc::now())
        .await?;
    let mut body = execution.view();
    if let Some(secret) = &execution.notification.secret {
        body["notification"]["signing_secret"] = json!(secret);
    }
    Ok(Reply::new(202, &body).about(execution.execution_id.clone()))
}

/// `POST /api/v1/tasks` with `pipeline_id`, `stage`, `type`, `payload`, `priority`, `timeout`,
/// `retry_count`: the stage's task (`202`), pending, run as a one-stage execution it names.
///
/// # Errors
/// A wrong field, `PIPELINE_NOT_FOUND`, a store or Step Functions failure.
pub async fn submit<P: PipelineStore, X: ExecutionStore, E: Engine, A, T: StageTasks>(
    runs: &Runs<P, X, E, A, T>,
    req: Authorized<NewItem<TaskPath>>,
) -> Result<Reply, ApiError> {
    let task = runs.submit(&req.principal, &req.request.body, Utc::now()).await?;
    Ok(Reply::new(202, &task).about(task.task_id.clone()))
}

/// `GET /api/v1/pipelines/{pipelineID}/executions/{executionID}`.
///
/// # Errors
/// `EXECUTION_NOT_FOUND` (of another pipeline or tenant too), a store failure.
pub async fn get<P, X: ExecutionStore, E, A, T>(
    runs: &Runs<P, X, E, A, T>,
    req: Authorized<ExecutionPath>,
) -> Result<Reply, ApiError> {
    let r = &req.request;
    let execution = runs.execution(&req.principal, &r.pipeline_id, &r.execution_id).await?;
    Ok(Reply::ok(&execution.view()))
}

/// `POST /api/v1/pipelines/{pipelineID}/executions/{executionID}/cancel`: stops it; every stage not
/// finished ends cancelled.
///
/// # Errors
/// `EXECUTION_NOT_FOUND`, `EXECUTION_FINISHED` (409), a store or Step Functions failure.
pub async fn cancel<P, X: ExecutionStore, E: Engine, A, T: StageTasks>(
    runs: &Runs<P, X, E, A, T>,
    req: Authorized<ExecutionPath>,
) -> Result<Reply, ApiError> {
    let r = &req.request;
    let execution = runs
        .cancel(&req.principal, &r.pipeline_id, &r.execution_id, Utc::now())
        .await?;
    Ok(Reply::ok(&execution.view()))
}
