//! [`TaskQueue`] on SQS: one queue per priority band.

use anyhow::anyhow;

use crate::conversation::model::Band;
use crate::conversation::store::{TaskMessage, TaskQueue};

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
    #[tracing::instrument(skip(self))]
    async fn enqueue(&self, band: Band, message: &TaskMessage) -> anyhow::Result<()> {
        let url = match band {
            Band::High => &self.high,
            Band::Medium => &self.medium,
            Band::Low => &self.low,
        };
        let body = serde_json::to_string(message)?;
        let send = self.client.send_message().queue_url(url).message_body(body);
        send.send().await.map(drop).map_err(super::sdk_error)
    }

    #[tracing::instrument(skip(self, receipt_handle))]
    async fn retry_later(&self, queue_arn: &str, receipt_handle: &str, secs: u32) -> anyhow::Result<()> {
        let name = queue_arn.rsplit(':').next().unwrap_or_default();
        let url = [&self.high, &self.medium, &self.low]
            .into_iter()
            .find(|u| u.ends_with(&format!("/{name}")))
            .ok_or_else(|| anyhow!("{queue_arn} is not a task queue"))?;
        let change = self
            .client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt_handle);
        let change = change.visibility_timeout(i32::try_from(secs).unwrap_or(i32::MAX));
        change.send().await.map(drop).map_err(super::sdk_error)
    }
}
