//! In-memory [`PipelineStore`] for unit tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::store::PipelineStore;
use super::{Pipeline, PipelineError, MAX_PIPELINES_PER_TENANT};

/// Pipelines by tenant and id.
#[derive(Debug, Default)]
pub struct InMemoryPipelines {
    pipelines: Mutex<BTreeMap<(String, String), Pipeline>>,
}

impl InMemoryPipelines {
    fn pipelines(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Pipeline>> {
        self.pipelines.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl PipelineStore for InMemoryPipelines {
    async fn put(&self, pipeline: &Pipeline) -> Result<(), PipelineError> {
        let mut pipelines = self.pipelines();
        if pipelines.keys().filter(|(t, _)| *t == pipeline.tenant).count() >= MAX_PIPELINES_PER_TENANT {
            return Err(PipelineError::LimitReached);
        }
        pipelines.insert(
            (pipeline.tenant.clone(), pipeline.pipeline_id.clone()),
            pipeline.clone(),
        );
        Ok(())
    }

    async fn get(&self, tenant: &str, pipeline_id: &str) -> Result<Option<Pipeline>, PipelineError> {
        Ok(self
            .pipelines()
            .get(&(tenant.to_owned(), pipeline_id.to_owned()))
            .cloned())
    }

    async fn list(&self, tenant: &str) -> Result<Vec<Pipeline>, PipelineError> {
        Ok(self
            .pipelines()
            .values()
            .filter(|p| p.tenant == tenant)
            .cloned()
            .collect())
    }
}
