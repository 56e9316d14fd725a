//! How many messages wait in each queue, as SQS counts them (`GetQueueAttributes`).

use aws_sdk_sqs::types::QueueAttributeName;
use futures::future::{join_all, BoxFuture};
use serde::Serialize;

use crate::config::QueueRef;

/// One queue's approximate counts, or why they could not be read.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct QueueDepth {
    pub queue: String,
    /// Messages ready to be received.
    pub waiting: Option<u64>,
    /// Messages received and not yet deleted (being processed).
    pub in_flight: Option<u64>,
    /// Messages not yet visible (a delay).
    pub delayed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Port: the depth of every queue of the system (they are the system's, not a tenant's: the counts
/// say nothing of whose messages they are).
pub trait QueueDepths: Send + Sync {
    fn depths(&self) -> BoxFuture<'_, Vec<QueueDepth>>;
}

/// [`QueueDepths`] of the configured queues, on SQS.
#[derive(Debug, Clone)]
pub struct SqsQueueDepths {
    pub client: aws_sdk_sqs::Client,
    pub queues: Vec<QueueRef>,
}

impl SqsQueueDepths {
    async fn depth(&self, queue: &QueueRef) -> QueueDepth {
        let asked = self
            .client
            .get_queue_attributes()
            .queue_url(&queue.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await;
        match asked {
            Ok(answer) => {
                let attributes = answer.attributes.unwrap_or_default();
                let count = |name: QueueAttributeName| attributes.get(&name).and_then(|v| v.parse().ok());
                QueueDepth {
                    queue: queue.name.clone(),
                    waiting: count(QueueAttributeName::ApproximateNumberOfMessages),
                    in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
                    delayed: count(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
                    error: None,
                }
            }
            Err(e) => {
                tracing::warn!(queue = %queue.name, error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "queue depth not read");
                QueueDepth {
                    queue: queue.name.clone(),
                    waiting: None,
                    in_flight: None,
                    delayed: None,
                    error: Some("the queue's attributes could not be read".into()),
                }
            }
        }
    }
}

impl QueueDepths for SqsQueueDepths {
    fn depths(&self) -> BoxFuture<'_, Vec<QueueDepth>> {
        Box::pin(join_all(self.queues.iter().map(|q| self.depth(q))))
    }
}
