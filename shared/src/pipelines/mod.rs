//! Pipelines: a tenant's definitions of stages and their dependencies, checked, stored and read back,
//! which Step Functions runs with agents executing the stages (`executions`, `runs`). The item is `TENANT#<tenant>` / `PIPELINE#<pipeline id>`, and the tenant's count
//! `TENANT#<tenant>` / `PIPECOUNT`, written in one transaction (see [`crate::dynamodb`]).

use serde::{Deserialize, Serialize};

pub mod definition;
pub mod dynamodb;
pub mod engine;
pub mod executions;
pub mod memory;
pub mod redelivery;
pub mod runs;
pub mod store;
pub mod submit;
pub mod webhook;
pub mod work;

use definition::Definition;

/// Pipelines a tenant may define.
pub const MAX_PIPELINES_PER_TENANT: usize = 100;

/// A stored pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    pub pipeline_id: String,
    #[serde(skip)]
    pub tenant: String,
    #[serde(flatten)]
    pub definition: Definition,
    pub created_at: String,
    /// The subject (key id or JWT `sub`) that defined it.
    pub created_by: String,
}

/// Why a pipeline operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("pipeline {0} not found")]
    NotFound(String),
    #[error("the tenant already has {MAX_PIPELINES_PER_TENANT} pipelines")]
    LimitReached,
    #[error("execution {0} not found")]
    ExecutionNotFound(String),
    #[error("execution {0} has ended ({1:?})")]
    ExecutionFinished(String, executions::ExecutionStatus),
    #[error("task {0} not found")]
    TaskNotFound(String),
    #[error("task {0} is assigned to another agent")]
    NotYourTask(String),
    #[error(transparent)]
    Agent(#[from] crate::agents::AgentError),
    /// The attempt is over: cancelled, timed out, or reported already.
    #[error("{message}")]
    TaskOver { code: &'static str, message: String },
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl From<crate::conversation::store::StoreError> for PipelineError {
    fn from(e: crate::conversation::store::StoreError) -> Self {
        match e {
            // Kept whole, so an unreachable table is still known as such.
            crate::conversation::store::StoreError::Unknown(e) => Self::Unknown(e.context("task store")),
            other => Self::Unknown(anyhow::anyhow!("task store: {other}")),
        }
    }
}

impl From<getrandom::Error> for PipelineError {
    fn from(e: getrandom::Error) -> Self {
        Self::Unknown(anyhow::anyhow!("random source: {e}"))
    }
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> PipelineError {
    PipelineError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Checks `body` and stores it as a new pipeline of the caller's tenant.
///
/// # Errors
/// [`PipelineError::Invalid`] naming what is wrong, [`PipelineError::LimitReached`], a store failure.
pub async fn create<S: store::PipelineStore>(
    store: &S,
    who: &crate::auth::Principal,
    body: &serde_json::Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Pipeline, PipelineError> {
    let definition = definition::parse(body)?;
    let pipeline_id = crate::ids::new_id("pln", now.timestamp_millis())?;
    let pipeline = Pipeline {
        pipeline_id,
        tenant: who.tenant.to_string(),
        definition,
        created_at: crate::conversation::service::stamp(now),
        created_by: who.subject.clone(),
    };
    store.put(&pipeline).await?;
    Ok(pipeline)
}

/// One of the tenant's pipelines.
///
/// # Errors
/// [`PipelineError::NotFound`] (another tenant's too), a store failure.
pub async fn get<S: store::PipelineStore>(
    store: &S,
    who: &crate::auth::Principal,
    pipeline_id: &str,
) -> Result<Pipeline, PipelineError> {
    store
        .get(&who.tenant, pipeline_id)
        .await?
        .ok_or_else(|| PipelineError::NotFound(pipeline_id.to_owned()))
}

#[cfg(test)]
mod tests;
