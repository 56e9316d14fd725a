//! Port: where a tenant's integrations are kept.

use std::future::Future;

use super::{Integration, IntegrationError, Precondition, Spec};

/// Who writes and when (`updated_at`, `updated_by`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub at: String,
    pub by: String,
}

/// A page of a listing: the integrations, newest first, and the cursor of the next page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub integrations: Vec<Integration>,
    /// The id of the page's last integration, when more follow.
    pub next_cursor: Option<String>,
}

/// Port: the integrations of every tenant; each method takes the tenant.
pub trait IntegrationStore: Send + Sync {
    /// Stores a new integration: [`IntegrationError::LimitReached`] at
    /// [`super::MAX_INTEGRATIONS_PER_TENANT`].
    fn put(&self, integration: &Integration) -> impl Future<Output = Result<(), IntegrationError>> + Send;
    fn get(
        &self,
        tenant: &str,
        integration_id: &str,
    ) -> impl Future<Output = Result<Option<Integration>, IntegrationError>> + Send;
    /// Up to `limit` of the tenant's integrations, newest first, after the one `after` names.
    fn page(
        &self,
        tenant: &str,
        limit: usize,
        after: Option<&str>,
    ) -> impl Future<Output = Result<Page, IntegrationError>> + Send;
    /// Sets the integration's spec and moves its version on by one, when `expected` holds:
    /// [`IntegrationError::NotFound`], [`IntegrationError::VersionMismatch`] (nothing written).
    fn replace(
        &self,
        tenant: &str,
        integration_id: &str,
        spec: &Spec,
        written: &Written,
        expected: Precondition,
    ) -> impl Future<Output = Result<Integration, IntegrationError>> + Send;
    /// Deletes the integration when `expected` holds: [`IntegrationError::NotFound`],
    /// [`IntegrationError::VersionMismatch`] (nothing deleted).
    fn delete(
        &self,
        tenant: &str,
        integration_id: &str,
        expected: Precondition,
    ) -> impl Future<Output = Result<(), IntegrationError>> + Send;
}

/// Whether `expected` lets a write go ahead on `current`; the error when it does not.
///
/// # Errors
/// [`IntegrationError::VersionMismatch`].
pub fn check(id: &str, current: u64, expected: Precondition) -> Result<(), IntegrationError> {
    match expected {
        Precondition::Version(v) if v != current => Err(IntegrationError::VersionMismatch {
            id: id.to_owned(),
            expected: v,
            current,
        }),
        _ => Ok(()),
    }
}
