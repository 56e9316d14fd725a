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
}

impl InMemoryRegistry {
    fn items(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, Value>> {
        self.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
        let mut items = self.items();
        Ok(items
            .get_mut(&(tenant.to_owned(), kind.prefix(), key.to_owned()))
            .map(|stored| *stored = doc.clone())
            .is_some())
    }

    async fn delete(&self, tenant: &str, kind: Kind, key: &str) -> Result<bool, RegistryError> {
        Ok(self
            .items()
            .remove(&(tenant.to_owned(), kind.prefix(), key.to_owned()))
            .is_some())
    }
}
