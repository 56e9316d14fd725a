//! `/api/v1/pipelines`: a tenant defines pipelines (stages and their dependencies, checked) and reads
//! them back (executions are in `executions.rs`). Creating one is audited.

use chrono::Utc;
use serde_json::json;
use shared::pipelines::store::PipelineStore;
use shared::pipelines::{self as pipeline};
use shared::ApiError;

use crate::api::requests::{Id, NewItem, NoInput, PipelinePath};
use crate::api::{Authorized, Reply};

/// `POST /api/v1/pipelines`: the stored pipeline (`201`).
///
/// # Errors
/// The first wrong item of the definition (a cycle named stage by stage), the tenant's limit, a store
/// failure.
pub async fn create<S: PipelineStore>(store: &S, req: Authorized<NewItem<PipelinePath>>) -> Result<Reply, ApiError> {
    let made = pipeline::create(store, &req.principal, &req.request.body, Utc::now()).await?;
    Ok(Reply::new(201, &made).about(made.pipeline_id.clone()))
}

/// `GET /api/v1/pipelines`: the tenant's pipelines, oldest first.
///
/// # Errors
/// A store failure.
pub async fn list<S: PipelineStore>(store: &S, req: Authorized<NoInput>) -> Result<Reply, ApiError> {
    let pipelines = store.list(&req.principal.tenant).await?;
    Ok(Reply::ok(&json!({ "pipelines": pipelines })))
}

/// `GET /api/v1/pipelines/{pipelineID}`.
///
/// # Errors
/// `PIPELINE_NOT_FOUND` (another tenant's too), a store failure.
pub async fn get<S: PipelineStore>(store: &S, req: Authorized<Id<PipelinePath>>) -> Result<Reply, ApiError> {
    Ok(Reply::ok(&pipeline::get(store, &req.principal, &req.request.id).await?))
}

#[cfg(test)]
mod tests;
