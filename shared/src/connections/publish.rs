//! Publishing an event to a topic's subscribers: the subscribers of every topic, each connection once,
//! pushed to concurrently (at most [`PUSH_CONCURRENCY`] at a time). A connection that is gone (`410`)
//! loses its subscriptions and its item; any other failure is logged and the rest still get theirs.

use futures::stream::{self, StreamExt};

use super::store::{ConnectionStore, PushError, Pusher};

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
    let mut targets: Vec<String> = Vec::new();
    for topic in topics {
        for id in store.subscribers(tenant, topic).await? {
            if !targets.contains(&id) {
                targets.push(id);
            }
        }
    }
    let pushes = stream::iter(targets)
        .map(|id: String| async move {
            let outcome = pusher.push(&id, message).await;
            (id, outcome)
        })
        .buffer_unordered(PUSH_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let mut delivered = 0;
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
            }
            Err(PushError::Unknown(e)) => tracing::warn!(connection = %id, error = %e, "push failed"),
        }
    }
    Ok(delivered)
}

/// The topics a task's changes are published to: the task's, and its context's.
#[must_use]
pub fn task_topics(task: &crate::tasks::model::Task) -> Vec<String> {
    let mut topics = vec![format!("task:{}", task.task_id)];
    if let Some(context) = &task.context_id {
        topics.push(format!("context:{context}"));
    }
    topics
}

/// Publishes a task's state as a `task_update` event to its task's and context's subscribers.
///
/// # Errors
/// When the subscribers cannot be read.
pub async fn task_update<S: ConnectionStore, P: Pusher>(
    store: &S,
    pusher: &P,
    task: &crate::tasks::model::Task,
) -> anyhow::Result<usize> {
    let data = serde_json::to_value(task)?;
    let message = super::envelope::event("task_update", &data);
    publish(store, pusher, &task.tenant, &task_topics(task), &message).await
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
