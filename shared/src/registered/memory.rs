//! In-memory [`RegistryStore`] for unit tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::Value;

use super::store::RegistryStore;
use super::{Kind, RegistryError, MAX_PER_KIND};

type Key = (String, &'static str, String);

/// Registered items in memory.
#[derive(Debug, Default)]
pub struct InMemoryRegistry {
    items: Mutex<BTreeMap<Key, Value>>,
    versions: Mutex<BTreeMap<(String, &'static str), u64>>,
}

impl InMemoryRegistry {
    fn items(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, Value>> {
        self.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A write of `kind` took: its version moves on.
    fn changed(&self, tenant: &str, kind: Kind) {
        let mut versions = self.versions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *versions.entry((tenant.to_owned(), kind.prefix())).or_default() += 1;
    }
}

impl RegistryStore for InMemoryRegistry {
    async fn put(&self, tenant: &str, kind: Kind, key: &str, doc: &Value) -> Result<(), RegistryError> {
        let mut items = self.items();
        let k = (tenant.to_owned(), kind.prefix(), key.to_owned());
        if items.contains_key(&k) {
            return Err(RegistryError::Exists {
                kind,
                key: key.to_owned(),
            });
        }
        if items
            .keys()
            .filter(|(t, p, _)| t == tenant && *p == kind.prefix())
            .count()
            >= MAX_PER_KIND
        {
            return Err(RegistryError::LimitReached);
        }
        items.insert(k, doc.clone());
        drop(items);
        self.changed(tenant, kind);
        Ok(())
    }

    async fn get(&self, tenant: &str, kind: Kind, key: &str) -> Result<Option<Value>, RegistryError> {
        Ok(self
            .items()
            .get(&(tenant.to_owned(), kind.prefix(), key.to_owned()))
            .cloned())
    }

    async fn list(&self, tenant: &str, kind: Kind) -> Result<Vec<Value>, RegistryError> {
        let items = self.items();
        Ok(items
            .iter()
            .filter(|((t, p, _), _)| t == tenant && *p == kind.prefix())
            .map(|(_, v)| v.clone())
            .collect())
    }

    async fn replace(&self, tenant: &str, kind: Kind, key: &str, doc: &Value) -> Result<bool, RegistryError> {
        let replaced = self
            .items()
            .get_mut(&(tenant.to_owned(), kind.prefix(), key.to_owned()))
            .map(|stored| *stored = doc.clone())
            .is_some();
        if replaced {
            self.changed(tenant, kind);
        }
        Ok(replaced)
    }

    async fn delete(&self, tenant: &str, kind: Kind, key: &str) -> Result<bool, RegistryError> {
        let deleted = self
            .items()
            .remove(&(tenant.to_owned(), kind.prefix(), key.to_owned()))
            .is_some();
        if deleted {
            self.changed(tenant, kind);
        }
        Ok(deleted)
    }

    async fn version(&self, tenant: &str, kind: Kind) -> Result<u64, RegistryError> {
        let versions = self.versions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(versions.get(&(tenant.to_owned(), kind.prefix())).copied().unwrap_or(0))
    }
}
