//! Connections and pushes in memory, for unit tests: what was pushed to whom, and what was closed.

use std::collections::HashMap;
use std::sync::Mutex;

use super::store::{ConnectionStore, EventLog, KeptEvent, PushError, Pusher, Subscription};
use super::{Connection, Received};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A connection's violations by code, and the end of its cool-down.
type Violations = (std::collections::BTreeMap<String, u64>, i64, u64);

/// Connections with their received-message counts.
#[derive(Debug, Default)]
pub struct InMemoryConnections {
    connections: Mutex<HashMap<String, (Connection, u64)>>,
    /// Connection id → the deadline of its first-message authentication.
    pending: Mutex<HashMap<String, i64>>,
    /// Connection id → (violations by code, cool-down end).
    violations: Mutex<HashMap<String, Violations>>,
    /// (tenant, topic) → subscribed connection ids.
    subscriptions: Mutex<HashMap<(String, String), Vec<String>>>,
    /// (tenant, topic) → kept events, oldest first.
    events: Mutex<HashMap<(String, String), Vec<KeptEvent>>>,
}

impl ConnectionStore for InMemoryConnections {
    async fn put(&self, connection: &Connection) -> anyhow::Result<()> {
        lock(&self.connections).insert(connection.connection_id.clone(), (connection.clone(), 0));
        Ok(())
    }

    async fn get(&self, connection_id: &str) -> anyhow::Result<Option<Connection>> {
        Ok(lock(&self.connections).get(connection_id).map(|(c, _)| c.clone()))
    }

    async fn received(&self, connection_id: &str, _now_ms: i64) -> anyhow::Result<Option<Received>> {
        let received = lock(&self.connections)
            .get_mut(connection_id)
            .map(|(connection, count)| {
                *count += 1;
                Received {
                    connection: connection.clone(),
                    first: *count == 1,
                    count: *count,
                    topics: Vec::new(),
                    violations: std::collections::BTreeMap::new(),
                    penalty_until_ms: 0,
                    times_exceeded: 0,
                }
            });
        Ok(received.map(|mut r| {
            let subs = lock(&self.subscriptions);
            r.topics = subs
                .iter()
                .filter(|((tenant, _), ids)| *tenant == r.connection.tenant && ids.iter().any(|i| i == connection_id))
                .map(|((_, topic), _)| topic.clone())
                .collect();
            r.topics.sort();
            if let Some((violations, until, times)) = lock(&self.violations).get(connection_id) {
                (r.violations, r.penalty_until_ms, r.times_exceeded) = (violations.clone(), *until, *times);
            }
            r
        }))
    }

    async fn violated(
        &self,
        connection_id: &str,
        code: &str,
        penalty_until_ms: Option<i64>,
    ) -> anyhow::Result<Option<u64>> {
        if !lock(&self.connections).contains_key(connection_id) {
            return Ok(None);
        }
        let mut all = lock(&self.violations);
        let (violations, until, times) = all.entry(connection_id.to_owned()).or_default();
        *violations.entry(code.to_owned()).or_default() += 1;
        if let Some(u) = penalty_until_ms {
            (*until, *times) = (u, *times + 1);
        }
        Ok(Some(violations.values().sum()))
    }

    async fn subject_connections(&self, tenant: &str, subject: &str) -> anyhow::Result<Vec<String>> {
        Ok(lock(&self.connections)
            .values()
            .filter(|(c, _)| c.tenant == tenant && c.subject == subject)
            .map(|(c, _)| c.connection_id.clone())
            .collect())
    }

    async fn tenant_connections(&self, tenant: &str) -> anyhow::Result<u64> {
        Ok(lock(&self.connections)
            .values()
            .filter(|(c, _)| c.tenant == tenant)
            .count() as u64)
    }

    async fn put_pending(&self, connection_id: &str, deadline_ms: i64, _expires_at: i64) -> anyhow::Result<()> {
        lock(&self.pending).insert(connection_id.to_owned(), deadline_ms);
        Ok(())
    }

    async fn pending(&self, connection_id: &str) -> anyhow::Result<Option<i64>> {
        Ok(lock(&self.pending).get(connection_id).copied())
    }

    async fn delete(&self, connection_id: &str) -> anyhow::Result<()> {
        lock(&self.pending).remove(connection_id);
        if let Some((connection, _)) = lock(&self.connections).remove(connection_id) {
            for ((tenant, _), ids) in lock(&self.subscriptions).iter_mut() {
                if *tenant == connection.tenant {
                    ids.retain(|i| i != connection_id);
                }
            }
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        tenant: &str,
        topic: &str,
        connection_id: &str,
        _expires_at: i64,
    ) -> anyhow::Result<Subscription> {
        if self.get(connection_id).await?.is_none() {
            return Ok(Subscription::Gone);
        }
        let mut subs = lock(&self.subscriptions);
        let held = subs
            .iter()
            .filter(|((_, t), ids)| t != topic && ids.iter().any(|i| i == connection_id))
            .count();
        if held >= super::MAX_TOPICS_PER_CONNECTION {
            return Ok(Subscription::Full);
        }
        let ids = subs.entry((tenant.to_owned(), topic.to_owned())).or_default();
        if !ids.iter().any(|i| i == connection_id) {
            ids.push(connection_id.to_owned());
        }
        Ok(Subscription::Subscribed)
    }

    async fn subscribers(&self, tenant: &str, topic: &str) -> anyhow::Result<Vec<String>> {
        let subs = lock(&self.subscriptions);
        Ok(subs
            .get(&(tenant.to_owned(), topic.to_owned()))
            .cloned()
            .unwrap_or_default())
    }

    async fn unsubscribe(&self, tenant: &str, topic: &str, connection_id: &str) -> anyhow::Result<()> {
        if let Some(ids) = lock(&self.subscriptions).get_mut(&(tenant.to_owned(), topic.to_owned())) {
            ids.retain(|i| i != connection_id);
        }
        Ok(())
    }
}

impl EventLog for InMemoryConnections {
    async fn keep(&self, tenant: &str, topics: &[String], event: &KeptEvent, _expires_at: i64) -> anyhow::Result<()> {
        let mut events = lock(&self.events);
        for topic in topics {
            let kept = events.entry((tenant.to_owned(), topic.clone())).or_default();
            kept.push(event.clone());
        }
        Ok(())
    }

    async fn since(
        &self,
        tenant: &str,
        topic: &str,
        after: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<KeptEvent>> {
        let events = lock(&self.events);
        let kept = events.get(&(tenant.to_owned(), topic.to_owned()));
        Ok(kept
            .into_iter()
            .flatten()
            .filter(|e| after.is_none_or(|a| e.event_id.as_str() > a))
            .take(limit)
            .cloned()
            .collect())
    }
}

/// Pushes recorded in order; connections in `gone` answer [`PushError::Gone`].
#[derive(Debug, Default)]
pub struct InMemoryPusher {
    pub pushed: Mutex<Vec<(String, String)>>,
    pub closed: Mutex<Vec<String>>,
    pub gone: Mutex<Vec<String>>,
}

impl Pusher for InMemoryPusher {
    async fn push(&self, connection_id: &str, message: &str) -> Result<(), PushError> {
        if lock(&self.gone).iter().any(|g| g == connection_id) {
            return Err(PushError::Gone(connection_id.to_owned()));
        }
        lock(&self.pushed).push((connection_id.to_owned(), message.to_owned()));
        Ok(())
    }

    async fn close(&self, connection_id: &str) -> Result<(), PushError> {
        lock(&self.closed).push(connection_id.to_owned());
        Ok(())
    }
}
