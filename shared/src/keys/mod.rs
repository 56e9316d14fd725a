//! API key records and the port that stores them.
//!
//! DynamoDB layout (single table, see `template.yaml`):
//!
//! | item | pk | sk | used by |
//! | --- | --- | --- | --- |
//! | lookup | `APIKEY#<sha256 hex>` | `APIKEY` | the authorizer: one `GetItem` per request |
//! | listing | `TENANT#<tenant>` | `APIKEY#<key id>` | list (`Query` on the tenant), revoke, last-used |
//!
//! Both items are written and revoked together in one transaction. The key itself is never stored.

pub mod admin;
pub mod dynamodb;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use serde::Serialize;

use crate::auth::Role;

/// Keys a tenant may hold, revoked ones included.
pub const MAX_KEYS_PER_TENANT: usize = 100;

/// An API key's metadata; `hash` never leaves the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKeyRecord {
    pub key_id: String,
    pub tenant: String,
    pub role: Role,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
    #[serde(skip)]
    pub hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    #[error("key {0} not found")]
    NotFound(String),
    #[error("the tenant already holds {MAX_KEYS_PER_TENANT} keys")]
    LimitReached,
    #[error("key {0} already exists")]
    Conflict(String),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Port: where API keys live. Every method that reads tenant data takes the tenant.
pub trait KeyStore: Send + Sync {
    fn create(&self, record: &ApiKeyRecord) -> impl Future<Output = Result<(), KeyStoreError>> + Send;
    /// The key with this hash, for the authorizer (which does not know the tenant yet).
    fn find_by_hash(&self, hash: &str) -> impl Future<Output = Result<Option<ApiKeyRecord>, KeyStoreError>> + Send;
    fn list(&self, tenant: &str) -> impl Future<Output = Result<Vec<ApiKeyRecord>, KeyStoreError>> + Send;
    /// Marks the tenant's key revoked; another tenant's key is `NotFound`.
    fn revoke(&self, tenant: &str, key_id: &str) -> impl Future<Output = Result<ApiKeyRecord, KeyStoreError>> + Send;
    fn touch(&self, tenant: &str, key_id: &str, at: &str) -> impl Future<Output = Result<(), KeyStoreError>> + Send;
    /// Removes the tenant's key altogether (an agent's token goes with its agent, freeing its place
    /// among the tenant's keys); `false` when there was none.
    fn delete(&self, tenant: &str, key_id: &str) -> impl Future<Output = Result<bool, KeyStoreError>> + Send;
}

/// In-memory [`KeyStore`] for unit tests.
#[derive(Debug, Default)]
pub struct InMemoryKeyStore {
    keys: Mutex<BTreeMap<String, ApiKeyRecord>>,
}

impl InMemoryKeyStore {
    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<String, ApiKeyRecord>) -> T) -> T {
        let mut guard = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }
}

impl KeyStore for InMemoryKeyStore {
    async fn create(&self, record: &ApiKeyRecord) -> Result<(), KeyStoreError> {
        self.with(|keys| {
            if keys.values().filter(|k| k.tenant == record.tenant).count() >= MAX_KEYS_PER_TENANT {
                return Err(KeyStoreError::LimitReached);
            }
            if keys.contains_key(&record.hash) {
                return Err(KeyStoreError::Conflict(record.key_id.clone()));
            }
            keys.insert(record.hash.clone(), record.clone());
            Ok(())
        })
    }

    async fn find_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRecord>, KeyStoreError> {
        Ok(self.with(|keys| keys.get(hash).cloned()))
    }

    async fn list(&self, tenant: &str) -> Result<Vec<ApiKeyRecord>, KeyStoreError> {
        Ok(self.with(|keys| keys.values().filter(|k| k.tenant == tenant).cloned().collect()))
    }

    async fn revoke(&self, tenant: &str, key_id: &str) -> Result<ApiKeyRecord, KeyStoreError> {
        self.with(|keys| {
            let key = keys.values_mut().find(|k| k.tenant == tenant && k.key_id == key_id);
            let key = key.ok_or_else(|| KeyStoreError::NotFound(key_id.to_owned()))?;
            key.revoked = true;
            Ok(key.clone())
        })
    }

    async fn delete(&self, tenant: &str, key_id: &str) -> Result<bool, KeyStoreError> {
        Ok(self.with(|keys| {
            let before = keys.len();
            keys.retain(|_, k| !(k.tenant == tenant && k.key_id == key_id));
            keys.len() < before
        }))
    }

    async fn touch(&self, tenant: &str, key_id: &str, at: &str) -> Result<(), KeyStoreError> {
        self.with(|keys| {
            if let Some(k) = keys.values_mut().find(|k| k.tenant == tenant && k.key_id == key_id) {
                k.last_used_at = Some(at.to_owned());
            }
        });
        Ok(())
    }
}

/// One store shared by its holders (the in-memory agents keep their tokens in their key store).
impl<S: KeyStore> KeyStore for std::sync::Arc<S> {
    fn create(&self, record: &ApiKeyRecord) -> impl Future<Output = Result<(), KeyStoreError>> + Send {
        S::create(self, record)
    }
    fn find_by_hash(&self, hash: &str) -> impl Future<Output = Result<Option<ApiKeyRecord>, KeyStoreError>> + Send {
        S::find_by_hash(self, hash)
    }
    fn list(&self, tenant: &str) -> impl Future<Output = Result<Vec<ApiKeyRecord>, KeyStoreError>> + Send {
        S::list(self, tenant)
    }
    fn revoke(&self, tenant: &str, key_id: &str) -> impl Future<Output = Result<ApiKeyRecord, KeyStoreError>> + Send {
        S::revoke(self, tenant, key_id)
    }
    fn touch(&self, tenant: &str, key_id: &str, at: &str) -> impl Future<Output = Result<(), KeyStoreError>> + Send {
        S::touch(self, tenant, key_id, at)
    }
    fn delete(&self, tenant: &str, key_id: &str) -> impl Future<Output = Result<bool, KeyStoreError>> + Send {
        S::delete(self, tenant, key_id)
    }
}
