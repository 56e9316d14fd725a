//! [`TaskQueue`] on SQS: one queue per priority band.

use crate::tasks::model::Band;
use crate::tasks::store::{TaskMessage, TaskQueue};
/// The three task queues.
#[derive(Debug, Clone)]
pub struct SqsTaskQueue {
    client: aws_sdk_sqs::Client,
    high: String,
    medium: String,
    low: String,
}

impl SqsTaskQueue {
    #[must_use]
    pub fn new(client: aws_sdk_sqs::Client, high: String, medium: String, low: String) -> Self {
        Self {
            client,
            high,
            medium,
            low,
        }
    }
}

impl TaskQueue for SqsTaskQueue {
    #[tracing::instrument(skip(self, message), fields(task_id = %message.task_id))]
    async fn enqueue(&self, band: Band, group: &str, message: &TaskMessage) -> anyhow::Result<()> {
        let url = match band {
            Band::High => &self.high,
            Band::Medium => &self.medium,
            Band::Low => &self.low,
        };
        let body = serde_json::to_string(message)?;
        // FIFO: the group orders a context's prompts; the task id makes a re-send a no-op for 5 min.
        let send = self
            .client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .message_group_id(group)
            .message_deduplication_id(&message.task_id);
        send.send().await.map(drop).map_err(crate::dynamodb::sdk_error)
    }
}
