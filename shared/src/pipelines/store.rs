//! Port: where a tenant's pipelines are kept.

use std::future::Future;

use super::{Pipeline, PipelineError};

/// Port: the pipelines of every tenant; each method takes the tenant.
pub trait PipelineStore: Send + Sync {
    /// Stores a new pipeline: [`PipelineError::LimitReached`] at
    /// [`super::MAX_PIPELINES_PER_TENANT`].
    fn put(&self, pipeline: &Pipeline) -> impl Future<Output = Result<(), PipelineError>> + Send;
    fn get(
        &self,
        tenant: &str,
        pipeline_id: &str,
    ) -> impl Future<Output = Result<Option<Pipeline>, PipelineError>> + Send;
    /// The tenant's pipelines, oldest first.
    fn list(&self, tenant: &str) -> impl Future<Output = Result<Vec<Pipeline>, PipelineError>> + Send;
}
