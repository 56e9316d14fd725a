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

/// Lists kept per instance at most, and their serialized bytes at most (a resource may hold 64 KiB,
/// a kind 100 items); past either, the least recently confirmed half is dropped. A list larger than
/// the byte budget is answered but not kept.
pub const MAX_KEPT: usize = 1000;
pub const MAX_KEPT_BYTES: usize = 32 * 1024 * 1024;

type Key = (String, &'static str);

struct Kept {
    version: u64,
    items: Vec<Value>,
    bytes: usize,
    known_current: Instant,
}

#[derive(Default)]
struct Lists {
    kept: HashMap<Key, Kept>,
    bytes: usize,
    /// Bumped by every write through this instance: a list read across one is not kept.
    generations: HashMap<Key, u64>,
}

impl Lists {
    fn drop_oldest_half(&mut self) {
        let mut ages: Vec<_> = self.kept.iter().map(|(k, v)| (v.known_current, k.clone())).collect();
        ages.sort();
        let half = ages.len().div_ceil(2);
        for (_, old) in ages.into_iter().take(half) {
            if let Some(gone) = self.kept.remove(&old) {
                self.bytes -= gone.bytes;
            }
        }
    }
}

/// A [`RegistryStore`] whose lists are cached (see the module doc).
pub struct Cached<R> {
    inner: R,
    /// How long a kept list is answered without reading its version (0: every list reads it).
    pub staleness: Duration,
    lists: Mutex<Lists>,
}

impl<R> Cached<R> {
    pub fn new(inner: R, staleness: Duration) -> Self {
        Self {
            inner,
            staleness,
            lists: Mutex::new(Lists::default()),
        }
    }

    fn lists(&self) -> std::sync::MutexGuard<'_, Lists> {
        self.lists.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn forget(&self, tenant: &str, kind: Kind) {
        let k = (tenant.to_owned(), kind.prefix());
        let mut lists = self.lists();
        *lists.generations.entry(k.clone()).or_default() += 1;
        if let Some(gone) = lists.kept.remove(&k) {
            lists.bytes -= gone.bytes;
        }
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
        let generation = {
            let lists = self.lists();
            if let Some(kept) = lists
                .kept
                .get(&k)
                .filter(|kept| kept.known_current.elapsed() < self.staleness)
            {
                return Ok(kept.items.clone());
            }
            lists.generations.get(&k).copied().unwrap_or(0)
        };
        // The version first: a write between it and the list leaves a newer list under an older
        // version, read again next time, never an older list under a newer version (the list is
        // read consistently).
        let version = self.inner.version(tenant, kind).await?;
        if let Some(kept) = self.lists().kept.get_mut(&k).filter(|kept| kept.version == version) {
            kept.known_current = Instant::now();
            return Ok(kept.items.clone());
        }
        let items = self.inner.list(tenant, kind).await?;
        let bytes: usize = items.iter().map(|v| v.to_string().len()).sum();
        let mut lists = self.lists();
        // A write through this instance since the version was read: this list may predate it.
        if lists.generations.get(&k).copied().unwrap_or(0) != generation || bytes > MAX_KEPT_BYTES {
            return Ok(items);
        }
        if let Some(old) = lists.kept.remove(&k) {
            lists.bytes -= old.bytes;
        }
        while !lists.kept.is_empty() && (lists.kept.len() >= MAX_KEPT || lists.bytes + bytes > MAX_KEPT_BYTES) {
            lists.drop_oldest_half();
        }
        lists.bytes += bytes;
        lists.kept.insert(
            k,
            Kept {
                version,
                items: items.clone(),
                bytes,
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
    async fn past_the_byte_budget_the_oldest_lists_are_dropped() {
        let store = Counting::default();
        let a = Cached::new(store.clone(), Duration::from_secs(60));
        let big = "x".repeat(MAX_KEPT_BYTES / 3);
        for tenant in ["t1", "t2", "t3", "t4"] {
            a.put(tenant, Kind::Resource, "r", &json!({"content": big}))
                .await
                .unwrap();
            a.list(tenant, Kind::Resource).await.unwrap();
        }
        let lists = a.lists();
        assert!(lists.bytes <= MAX_KEPT_BYTES, "{} kept", lists.bytes);
        assert!(
            lists.kept.contains_key(&("t4".to_owned(), "RESOURCE")),
            "the newest is kept"
        );
        assert_eq!(lists.bytes, lists.kept.values().map(|k| k.bytes).sum::<usize>());
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
