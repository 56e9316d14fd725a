//! [`Cached`]: a registry whose lists are kept in the instance, for MCP's `tools/list`,
//! `prompts/list` and `resources/list`, which would otherwise read every item of the tenant's kind on
//! every call. A kept list is answered as it is for [`Cached::staleness`] after it was last known
//! current; after that, one small consistent read of the kind's version (the counter item that every
//! register, replace and delete changes in its own transaction) says whether it still is, and only a
//! changed version reads the list again. Writes through this instance drop the tenant's kept list.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::store::RegistryStore;
use super::{Kind, RegistryError};

/// Tenants' lists kept per instance at most; past it the oldest half is dropped.
pub const MAX_KEPT: usize = 1000;

struct Kept {
    version: u64,
    items: Vec<Value>,
    known_current: Instant,
}

/// A [`RegistryStore`] whose lists are cached (see the module doc).
pub struct Cached<R> {
    inner: R,
    /// How long a kept list is answered without reading its version (0: every list reads it).
    pub staleness: Duration,
    kept: Mutex<HashMap<(String, &'static str), Kept>>,
}

impl<R> Cached<R> {
    pub fn new(inner: R, staleness: Duration) -> Self {
        Self {
            inner,
            staleness,
            kept: Mutex::new(HashMap::new()),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<(String, &'static str), Kept>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn forget(&self, tenant: &str, kind: Kind) {
        self.kept().remove(&(tenant.to_owned(), kind.prefix()));
    }
}

impl<R: RegistryStore> RegistryStore for Cached<R> {
    async fn put(&self, tenant: &str, kind: Kind, key: &str, doc: &Value) -> Result<(), RegistryError> {
        let out = self.inner.put(tenant, kind, key, doc).await;
        self.forget(tenant, kind);
        out
    }

    async fn get(&self, tenant: &str, kind: Kind, key: &str) -> Result<Option<Value>, RegistryError> {
        self.inner.get(tenant, kind, key).await
    }

    async fn list(&self, tenant: &str, kind: Kind) -> Result<Vec<Value>, RegistryError> {
        let k = (tenant.to_owned(), kind.prefix());
        if let Some(kept) = self
            .kept()
            .get(&k)
            .filter(|kept| kept.known_current.elapsed() < self.staleness)
        {
            return Ok(kept.items.clone());
        }
        // The version first: a write between it and the list leaves a newer list under an older
        // version, read again next time, never an older list under a newer version.
        let version = self.inner.version(tenant, kind).await?;
        if let Some(kept) = self.kept().get_mut(&k).filter(|kept| kept.version == version) {
            kept.known_current = Instant::now();
            return Ok(kept.items.clone());
        }
        let items = self.inner.list(tenant, kind).await?;
        let mut kept = self.kept();
        if kept.len() >= MAX_KEPT {
            let mut ages: Vec<_> = kept.iter().map(|(k, v)| (v.known_current, k.clone())).collect();
            ages.sort();
            for (_, old) in ages.into_iter().take(MAX_KEPT / 2) {
                kept.remove(&old);
            }
        }
        kept.insert(
            k,
            Kept {
                version,
                items: items.clone(),
                known_current: Instant::now(),
            },
        );
        Ok(items)
    }

    async fn replace(&self, tenant: &str, kind: Kind, key: &str, doc: &Value) -> Result<bool, RegistryError> {
        let out = self.inner.replace(tenant, kind, key, doc).await;
        self.forget(tenant, kind);
        out
    }

    async fn delete(&self, tenant: &str, kind: Kind, key: &str) -> Result<bool, RegistryError> {
        let out = self.inner.delete(tenant, kind, key).await;
        self.forget(tenant, kind);
        out
    }

    async fn version(&self, tenant: &str, kind: Kind) -> Result<u64, RegistryError> {
        self.inner.version(tenant, kind).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::registered::memory::InMemoryRegistry;

    /// The in-memory registry, counting its reads.
    #[derive(Default, Clone)]
    struct Counting {
        inner: Arc<InMemoryRegistry>,
        lists: Arc<AtomicUsize>,
        versions: Arc<AtomicUsize>,
    }

    impl RegistryStore for Counting {
        async fn put(&self, t: &str, k: Kind, key: &str, d: &Value) -> Result<(), RegistryError> {
            self.inner.put(t, k, key, d).await
        }
        async fn get(&self, t: &str, k: Kind, key: &str) -> Result<Option<Value>, RegistryError> {
            self.inner.get(t, k, key).await
        }
        async fn list(&self, t: &str, k: Kind) -> Result<Vec<Value>, RegistryError> {
            self.lists.fetch_add(1, Ordering::SeqCst);
            self.inner.list(t, k).await
        }
        async fn replace(&self, t: &str, k: Kind, key: &str, d: &Value) -> Result<bool, RegistryError> {
            self.inner.replace(t, k, key, d).await
        }
        async fn delete(&self, t: &str, k: Kind, key: &str) -> Result<bool, RegistryError> {
            self.inner.delete(t, k, key).await
        }
        async fn version(&self, t: &str, k: Kind) -> Result<u64, RegistryError> {
            self.versions.fetch_add(1, Ordering::SeqCst);
            self.inner.version(t, k).await
        }
    }

    #[tokio::test]
    async fn a_kept_list_is_read_again_only_when_another_instance_changed_the_kind() {
        let store = Counting::default();
        // Two instances over one store; no staleness: every list reads the version.
        let (a, b) = (
            Cached::new(store.clone(), Duration::ZERO),
            Cached::new(store.clone(), Duration::ZERO),
        );
        b.put("t", Kind::Tool, "one", &json!({"name": "one"})).await.unwrap();
        assert_eq!(a.list("t", Kind::Tool).await.unwrap().len(), 1);
        assert_eq!(a.list("t", Kind::Tool).await.unwrap().len(), 1);
        assert_eq!(
            store.lists.load(Ordering::SeqCst),
            1,
            "the second list came from the kept one"
        );
        // Another instance replaces, registers, deletes: each is seen at the next list.
        b.replace("t", Kind::Tool, "one", &json!({"name": "one", "v": 2}))
            .await
            .unwrap();
        assert_eq!(a.list("t", Kind::Tool).await.unwrap()[0]["v"], 2);
        b.put("t", Kind::Tool, "two", &json!({"name": "two"})).await.unwrap();
        assert_eq!(a.list("t", Kind::Tool).await.unwrap().len(), 2);
        b.delete("t", Kind::Tool, "one").await.unwrap();
        assert_eq!(a.list("t", Kind::Tool).await.unwrap().len(), 1);
        // Another kind or another tenant has its own version.
        b.put("u", Kind::Tool, "x", &json!({"name": "x"})).await.unwrap();
        b.put("t", Kind::Prompt, "p", &json!({"name": "p"})).await.unwrap();
        let lists = store.lists.load(Ordering::SeqCst);
        assert_eq!(a.list("t", Kind::Tool).await.unwrap().len(), 1);
        assert_eq!(
            store.lists.load(Ordering::SeqCst),
            lists,
            "nothing of t's tools changed"
        );
    }

    #[tokio::test]
    async fn within_the_staleness_a_kept_list_is_answered_without_any_read() {
        let store = Counting::default();
        let a = Cached::new(store.clone(), Duration::from_secs(60));
        a.put("t", Kind::Resource, "r", &json!({"uri": "r"})).await.unwrap();
        for _ in 0..5 {
            assert_eq!(a.list("t", Kind::Resource).await.unwrap().len(), 1);
        }
        assert_eq!(
            (
                store.lists.load(Ordering::SeqCst),
                store.versions.load(Ordering::SeqCst)
            ),
            (1, 1)
        );
        // Its own write is seen at once.
        a.delete("t", Kind::Resource, "r").await.unwrap();
        assert!(a.list("t", Kind::Resource).await.unwrap().is_empty());
    }
}
