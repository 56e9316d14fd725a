//! Publishing an event to a topic's subscribers: the subscribers of every topic, each connection once,
//! pushed to concurrently (at most [`PUSH_CONCURRENCY`] at a time). A connection that is gone (`410`)
//! loses its subscriptions and its item; any other failure is logged and the rest still get theirs.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

use super::envelope;
use super::store::{ConnectionStore, EventLog, KeptEvent, PushError, Pusher};
use super::EVENT_RETENTION_SECS;
use crate::tasks::model::Task;
use crate::tasks::updates::TaskUpdates;
use crate::worker::{Chunk, ChunkSink};

/// Pushes in flight at once for one event.
pub const PUSH_CONCURRENCY: usize = 32;

/// Pushes `message` to every connection subscribed to one of `topics` of `tenant`; how many got it.
///
/// # Errors
/// When the subscribers cannot be read.
pub async fn publish<S: ConnectionStore, P: Pusher>(
    store: &S,
    pusher: &P,
    tenant: &str,
    topics: &[String],
    message: &str,
) -> anyhow::Result<usize> {
    let targets = subscribers(store, tenant, topics).await?;
    let (delivered, _) = deliver(store, pusher, tenant, topics, &targets, message).await;
    Ok(delivered)
}

/// The connections subscribed to any of `topics` of `tenant`, each once.
///
/// # Errors
/// When the subscribers cannot be read.
pub async fn subscribers<S: ConnectionStore>(
    store: &S,
    tenant: &str,
    topics: &[String],
) -> anyhow::Result<Vec<String>> {
    let mut targets: Vec<String> = Vec::new();
    for topic in topics {
        for id in store.subscribers(tenant, topic).await? {
            if !targets.contains(&id) {
                targets.push(id);
            }
        }
    }
    Ok(targets)
}

/// Pushes `message` to `targets` (subscribers of `topics` of `tenant`) concurrently; how many got
/// it, and the ones that are gone (removed, with their subscriptions).
pub async fn deliver<S: ConnectionStore, P: Pusher>(
    store: &S,
    pusher: &P,
    tenant: &str,
    topics: &[String],
    targets: &[String],
    message: &str,
) -> (usize, Vec<String>) {
    let pushes = stream::iter(targets.iter().cloned())
        .map(|id: String| async move {
            let outcome = pusher.push(&id, message).await;
            (id, outcome)
        })
        .buffer_unordered(PUSH_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let (mut delivered, mut gone) = (0, Vec::new());
    for (id, outcome) in pushes {
        match outcome {
            Ok(()) => delivered += 1,
            Err(PushError::Gone(_)) => {
                // Every subscription of the connection goes with it; these topics' too, should its
                // item be gone already. A failed clean-up is logged: the next push tries again.
                tracing::info!(connection = %id, "subscriber gone; its subscriptions removed");
                let mut cleaned = store.delete(&id).await;
                for topic in topics {
                    cleaned = cleaned.and(store.unsubscribe(tenant, topic, &id).await);
                }
                if let Err(e) = cleaned {
                    tracing::warn!(connection = %id, error = %e, "gone subscriber not cleaned up");
                }
                gone.push(id);
            }
            Err(PushError::Unknown(e)) => tracing::warn!(connection = %id, error = %e, "push failed"),
        }
    }
    (delivered, gone)
}

/// Closes every connection `subject` of `tenant` has open (its key was revoked), telling each why
/// first; how many were closed. A connection that is already gone is only forgotten.
///
/// # Errors
/// When the connections cannot be read.
pub async fn close_subject<S: ConnectionStore, P: Pusher>(
    store: &S,
    pusher: &P,
    tenant: &str,
    subject: &str,
) -> anyhow::Result<usize> {
    let notice = envelope::error(&envelope::ProtocolError::new(
        envelope::ErrorCode::InvalidApiKey,
        "the key this connection was opened with has been revoked",
    ));
    let mut closed = 0;
    for id in store.subject_connections(tenant, subject).await? {
        // Best effort each: the next message of a connection missed here is refused anyway.
        let _ = pusher.push(&id, &notice).await;
        match pusher.close(&id).await {
            Ok(()) => closed += 1,
            Err(PushError::Gone(_)) => {}
            Err(PushError::Unknown(e)) => tracing::warn!(connection = %id, error = %e, "connection not closed"),
        }
        store.delete(&id).await?;
    }
    Ok(closed)
}

/// How long a streaming task keeps the subscribers it read before reading them again (a connection
/// that subscribes meanwhile gets the chunks after that).
pub const SUBSCRIBERS_REFRESH: Duration = Duration::from_secs(2);

/// Pushes a streamed task's chunks as `completion_chunk` events to the subscribers of the task and
/// its context, read once per [`SUBSCRIBERS_REFRESH`] rather than once a chunk.
pub struct ChunkPublisher<'a, S, P> {
    pub store: &'a S,
    pub pusher: &'a P,
    targets: Option<(Instant, Vec<String>)>,
}

impl<'a, S, P> ChunkPublisher<'a, S, P> {
    #[must_use]
    pub fn new(store: &'a S, pusher: &'a P) -> Self {
        Self {
            store,
            pusher,
            targets: None,
        }
    }
}

impl<S: ConnectionStore, P: Pusher> ChunkSink for ChunkPublisher<'_, S, P> {
    async fn chunk(&mut self, task: &Task, chunk: &Chunk) {
        let topics = task_topics(task);
        if self
            .targets
            .as_ref()
            .is_none_or(|(read, _)| read.elapsed() >= SUBSCRIBERS_REFRESH)
        {
            let read = subscribers(self.store, &task.tenant, &topics).await;
            // A failed read is tried again after the same wait, not on the next chunk; the stream goes
            // on, and the stored reply and the task_update still tell the end.
            let known = self.targets.take().map(|(_, t)| t).unwrap_or_default();
            let targets = read.unwrap_or_else(|e| {
                tracing::warn!(task_id = %task.task_id, error = %e, "chunk subscribers not read");
                known
            });
            self.targets = Some((Instant::now(), targets));
        }
        let Some((_, targets)) = &mut self.targets else {
            return;
        };
        let data = json!({"task_id": task.task_id, "context_id": task.context_id, "attempt": chunk.attempt,
                          "seq": chunk.seq, "text": chunk.text});
        let message = envelope::event("completion_chunk", &data);
        let (_, gone) = deliver(self.store, self.pusher, &task.tenant, &topics, targets, &message).await;
        targets.retain(|id| !gone.contains(id));
    }
}

/// The topics a task's changes are published to: the task's, and its context's.
#[must_use]
pub fn task_topics(task: &Task) -> Vec<String> {
    let mut topics = vec![format!("task:{}", task.task_id)];
    if let Some(context) = &task.context_id {
        topics.push(format!("context:{context}"));
    }
    topics
}

/// The topic of a registered resource's changes.
#[must_use]
pub fn resource_topic(uri: &str) -> String {
    format!("resource:{uri}")
}

/// Publishes a task's state (without a completion's `messages` and `tool_rounds`) as a `task_update` event to its
/// task's and context's subscribers, kept first under both topics for `events/since` (an event that
/// cannot be kept is still pushed).
///
/// # Errors
/// When the subscribers cannot be read.
pub async fn task_update<S: ConnectionStore + EventLog, P: Pusher>(
    store: &S,
    pusher: &P,
    task: &Task,
) -> anyhow::Result<usize> {
    let mut data = serde_json::to_value(task)?;
    // A completion's messages (up to MaxPromptBytes) and tool rounds (up to some 90 KB) would take
    // the event past the 32 KB a post may carry; GET of the completion has them.
    if let Some(fields) = data.as_object_mut() {
        fields.remove("messages");
        fields.remove("tool_rounds");
    }
    publish_kept(store, pusher, &task.tenant, &task_topics(task), "task_update", &data).await
}

/// Publishes an event of `event_type` with `data` to the subscribers of `topics` of `tenant`, kept
/// first under each topic for `events/since` (an event that cannot be kept is still pushed).
///
/// # Errors
/// When the subscribers cannot be read.
pub async fn publish_kept<S: ConnectionStore + EventLog, P: Pusher>(
    store: &S,
    pusher: &P,
    tenant: &str,
    topics: &[String],
    event_type: &str,
    data: &Value,
) -> anyhow::Result<usize> {
    let (event_id, message) = envelope::kept_event(event_type, data);
    let event = KeptEvent { event_id, message };
    let expires_at = chrono::Utc::now().timestamp() + EVENT_RETENTION_SECS;
    if let Err(e) = store.keep(tenant, topics, &event, expires_at).await {
        tracing::warn!(event_type, error = %e, "event not kept for events/since");
    }
    publish(store, pusher, tenant, topics, &event.message).await
}

/// Port: where changes other than tasks' are published (a registered resource's `resource_update`):
/// an event to the subscribers of topics of a tenant, kept for `events/since`. A failure is the
/// adapter's to log (the change has happened).
pub trait TopicEvents: Send + Sync {
    fn published<'a>(
        &'a self,
        tenant: &'a str,
        topics: &'a [String],
        event_type: &'a str,
        data: &'a Value,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

/// The WebSocket API as the place tasks' changes go: each change a `task_update` to the task's and
/// its context's subscribers, a streamed task's chunks through [`ChunkPublisher`].
pub struct WebSocketPublisher<S, P> {
    pub connections: S,
    pub pusher: P,
}

impl<S, P> WebSocketPublisher<S, P> {
    /// Where one streamed task's chunks go.
    #[must_use]
    pub fn chunks(&self) -> ChunkPublisher<'_, S, P> {
        ChunkPublisher::new(&self.connections, &self.pusher)
    }
}

impl<S: ConnectionStore + EventLog, P: Pusher> TaskUpdates for WebSocketPublisher<S, P> {
    fn published<'a>(&'a self, task: &'a Task) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            // The change has happened either way: a push that fails is logged, never retried with it.
            match task_update(&self.connections, &self.pusher, task).await {
                // Kept for catch-up all the same (`events/since`); at debug, to trace a missed update.
                Ok(0) => tracing::debug!(task_id = %task.task_id, "task_update pushed to no subscriber"),
                Ok(n) => tracing::info!(task_id = %task.task_id, subscribers = n, "task_update pushed"),
                Err(e) => tracing::warn!(task_id = %task.task_id, error = %e, "task_update not published"),
            }
        })
    }
}

impl<S: ConnectionStore + EventLog, P: Pusher> TopicEvents for WebSocketPublisher<S, P> {
    fn published<'a>(
        &'a self,
        tenant: &'a str,
        topics: &'a [String],
        event_type: &'a str,
        data: &'a Value,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            match publish_kept(&self.connections, &self.pusher, tenant, topics, event_type, data).await {
                Ok(0) => tracing::debug!(event_type, tenant, "event pushed to no subscriber"),
                Ok(n) => tracing::info!(event_type, subscribers = n, "event pushed"),
                Err(e) => tracing::warn!(event_type, error = %e, "event not published"),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connections::memory::{InMemoryConnections, InMemoryPusher};

    #[tokio::test]
    async fn every_subscriber_of_the_tenant_gets_it_once_and_a_gone_one_is_removed() {
        let store = InMemoryConnections::default();
        let pusher = InMemoryPusher::default();
        let topics = ["task:t1".to_owned(), "context:c1".to_owned()];
        for (id, tenant) in [("a", "acme"), ("b", "acme"), ("gone", "acme"), ("c", "other")] {
            let connection = crate::connections::Connection {
                connection_id: id.into(),
                tenant: tenant.into(),
                subject: "k1".into(),
                role: crate::auth::Role::Viewer,
                method: crate::auth::AuthMethod::ApiKey,
                connected_at_ms: 0,
                expires_at: i64::MAX,
            };
            store.put(&connection).await.unwrap();
        }
        store.subscribe("acme", "task:t1", "a", i64::MAX).await.unwrap();
        store.subscribe("acme", "context:c1", "a", i64::MAX).await.unwrap();
        store.subscribe("acme", "context:c1", "b", i64::MAX).await.unwrap();
        store.subscribe("acme", "task:t1", "gone", i64::MAX).await.unwrap();
        store.subscribe("other", "task:t1", "c", i64::MAX).await.unwrap();
        pusher.gone.lock().unwrap().push("gone".into());
        let delivered = publish(&store, &pusher, "acme", &topics, "evt").await.unwrap();
        assert_eq!(delivered, 2);
        let mut to: Vec<String> = pusher.pushed.lock().unwrap().iter().map(|(id, _)| id.clone()).collect();
        to.sort();
        assert_eq!(to, ["a", "b"]);
        assert_eq!(store.subscribers("acme", "task:t1").await.unwrap(), ["a"]);
    }
}
