//! Port: where executions are kept.

use std::future::Future;

use super::Execution;
use crate::pipelines::PipelineError;

/// Port: the executions of every tenant. A write names the version it read.
pub trait ExecutionStore: Send + Sync {
    /// Stores a new execution (version 1); `false` when its id is taken.
    fn create(&self, execution: &Execution) -> impl Future<Output = Result<bool, PipelineError>> + Send;
    fn get(
        &self,
        tenant: &str,
        execution_id: &str,
    ) -> impl Future<Output = Result<Option<Execution>, PipelineError>> + Send;
    /// Replaces the execution if it is still at `execution.version`, and moves it to the next
    /// version; `false` when another write came first.
    fn replace(&self, execution: &Execution) -> impl Future<Output = Result<bool, PipelineError>> + Send;
    /// The pipeline's executions, newest first: at most `limit`, from after the execution `after`;
    /// with the id of the last one when more follow.
    fn list(
        &self,
        tenant: &str,
        pipeline_id: &str,
        limit: usize,
        after: Option<&str>,
    ) -> impl Future<Output = Result<(Vec<Execution>, Option<String>), PipelineError>> + Send;
}

/// Writes attempted before an update gives up: each retry reads the execution again.
pub const UPDATE_ATTEMPTS: usize = 20;

/// Reads the execution, applies `change` and writes it back, again from a fresh read whenever another
/// write came first. `change` returns what the caller needs and whether anything changed (nothing is
/// written otherwise); `None` when there is no such execution.
///
/// # Errors
/// A store failure, or [`UPDATE_ATTEMPTS`] lost races.
pub async fn update<S: ExecutionStore, T>(
    store: &S,
    tenant: &str,
    execution_id: &str,
    change: impl FnMut(&mut Execution) -> (T, bool) + Send,
) -> Result<Option<(Execution, T)>, PipelineError> {
    update_known(store, tenant, execution_id, None, change).await
}

/// [`update`], its first try on `known` (the execution as this caller last wrote it, at its
/// version) instead of a read: when nothing else wrote it since, the update is one write. A change
/// that would write nothing to `known` is tried again on a fresh read, as `known` may be stale.
///
/// # Errors
/// A store failure, or [`UPDATE_ATTEMPTS`] lost races.
pub async fn update_known<S: ExecutionStore, T>(
    store: &S,
    tenant: &str,
    execution_id: &str,
    mut known: Option<Execution>,
    mut change: impl FnMut(&mut Execution) -> (T, bool) + Send,
) -> Result<Option<(Execution, T)>, PipelineError> {
    for _ in 0..UPDATE_ATTEMPTS {
        let (read, stale) = match known.take() {
            Some(execution) => (Some(execution), true),
            None => (store.get(tenant, execution_id).await?, false),
        };
        let Some(mut execution) = read else {
            return Ok(None);
        };
        let (out, changed) = change(&mut execution);
        if !changed && stale {
            continue;
        }
        if !changed {
            return Ok(Some((execution, out)));
        }
        if store.replace(&execution).await? {
            execution.version += 1;
            return Ok(Some((execution, out)));
        }
    }
    Err(PipelineError::Unknown(anyhow::anyhow!(
        "execution {execution_id} kept changing under {UPDATE_ATTEMPTS} updates"
    )))
}
