//! Listing a tenant's contexts, newest first.

use std::future::Future;

use serde::Serialize;

use super::store::ContextStore;
use crate::auth::Principal;
use crate::conversation::errors::ConversationError;
use crate::conversation::listing::{cursor, Page};
use crate::conversation::service::Deps;
use crate::conversation::store::StoreError;
use crate::tasks::store::{TaskQueue, TaskStore};

/// What a context list shows of each context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContextSummary {
    pub context_id: String,
    pub model_id: String,
    pub user_id: Option<String>,
    pub created_at: String,
    pub expires_at: i64,
}

/// Port: a tenant's contexts, newest first, after the sort key `after`, unexpired at `now_secs`.
pub trait ContextListing: Send + Sync {
    fn list_contexts(
        &self,
        tenant: &str,
        limit: usize,
        after: Option<&str>,
        now_secs: i64,
    ) -> impl Future<Output = Result<(Vec<ContextSummary>, Option<String>), StoreError>> + Send;
}

impl<C: ContextStore + ContextListing, T: TaskStore, Q: TaskQueue> Deps<C, T, Q> {
    /// The tenant's contexts, newest first.
    ///
    /// # Errors
    /// A store failure.
    pub async fn list_contexts(
        &self,
        principal: &Principal,
        limit: usize,
        after: Option<&str>,
        now_secs: i64,
    ) -> Result<Page<ContextSummary>, ConversationError> {
        let (items, last) = self
            .contexts
            .list_contexts(&principal.tenant, limit, after, now_secs)
            .await?;
        Ok(Page {
            items,
            next_cursor: last.as_deref().map(cursor),
        })
    }
}
