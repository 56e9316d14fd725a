//! Connections opened without credentials (browsers cannot set headers on a WebSocket, and a token in
//! the URL may be logged by a proxy): the first message must be `{"type": "auth", "token": …}` within
//! [`AUTH_WINDOW_MS`]. Lambda has no timer, so `$connect` queues the connection's id on a queue whose
//! messages are delivered only after the window (`WsAuthTimeoutQueue`, `DelaySeconds`); the
//! `ws-auth-timeout` function then closes it if it is still waiting.

use std::future::Future;

/// How long a connection opened without credentials has to authenticate.
pub const AUTH_WINDOW_MS: i64 = 10_000;

/// How long the item of a connection waiting to authenticate is kept, at most (unix seconds added).
pub const PENDING_TTL_SECS: i64 = 60;

/// Port: asks for a connection to be checked once its window has passed.
pub trait AuthTimeouts: Send + Sync {
    fn schedule(&self, connection_id: &str) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// The check queued on SQS (the queue delays each message by the window).
#[derive(Debug, Clone)]
pub struct SqsAuthTimeouts {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
}

impl AuthTimeouts for SqsAuthTimeouts {
    async fn schedule(&self, connection_id: &str) -> anyhow::Result<()> {
        let body = serde_json::json!({"connection_id": connection_id}).to_string();
        let send = self.client.send_message().queue_url(&self.queue_url).message_body(body);
        send.send().await.map(drop).map_err(crate::dynamodb::sdk_error)
    }
}

/// Checks scheduled in memory, for unit tests.
#[derive(Debug, Default)]
pub struct InMemoryAuthTimeouts(pub std::sync::Mutex<Vec<String>>);

impl AuthTimeouts for InMemoryAuthTimeouts {
    async fn schedule(&self, connection_id: &str) -> anyhow::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(connection_id.to_owned());
        Ok(())
    }
}
