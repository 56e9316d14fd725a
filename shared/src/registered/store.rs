//! Port: a tenant's registered items, as JSON documents keyed by kind and name (or URI).

use std::future::Future;

use serde_json::Value;

use super::{Kind, RegistryError};

/// Port: where registered items live. Every method takes the tenant.
pub trait RegistryStore: Send + Sync {
    /// Stores a new item: [`RegistryError::Exists`] when the key is taken,
    /// [`RegistryError::LimitReached`] at [`super::MAX_PER_KIND`].
    fn put(
        &self,
        tenant: &str,
        kind: Kind,
        key: &str,
        doc: &Value,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send;
    fn get(
        &self,
        tenant: &str,
        kind: Kind,
        key: &str,
    ) -> impl Future<Output = Result<Option<Value>, RegistryError>> + Send;
    /// The tenant's items of `kind`, by key.
    fn list(&self, tenant: &str, kind: Kind) -> impl Future<Output = Result<Vec<Value>, RegistryError>> + Send;
    /// Replaces an item's document; `false` when there was none (nothing is stored then).
    fn replace(
        &self,
        tenant: &str,
        kind: Kind,
        key: &str,
        doc: &Value,
    ) -> impl Future<Output = Result<bool, RegistryError>> + Send;
    /// `false` when there was none.
    fn delete(&self, tenant: &str, kind: Kind, key: &str) -> impl Future<Output = Result<bool, RegistryError>> + Send;
    /// A number that changes whenever an item of `kind` is registered, replaced or deleted (0 before
    /// the first), read consistently: a list cached at one version is current while it holds.
    fn version(&self, tenant: &str, kind: Kind) -> impl Future<Output = Result<u64, RegistryError>> + Send;
}
