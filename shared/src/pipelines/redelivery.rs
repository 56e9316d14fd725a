//! Port: putting a message of the stage queue off, and its adapter on SQS.

use std::future::Future;

/// Port: how long a received message stays invisible before it comes back.
pub trait Redelivery: Send + Sync {
    fn after(&self, receipt_handle: &str, secs: u64) -> impl Future<Output = ()> + Send;
}

/// The stage queue on SQS.
#[derive(Debug, Clone)]
pub struct SqsRedelivery {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
}

impl Redelivery for SqsRedelivery {
    async fn after(&self, receipt_handle: &str, secs: u64) {
        let changed = self
            .sqs
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(i32::try_from(secs).unwrap_or(60))
            .send()
            .await;
        if let Err(e) = changed {
            // It comes back after the queue's own visibility timeout instead.
            tracing::warn!(error = %crate::dynamodb::sdk_error(e), "message visibility not changed");
        }
    }
}
