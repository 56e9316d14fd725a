//! Ports: where connections are kept, and how a message reaches one.

use std::future::Future;

use super::{Connection, Received};

/// What a subscription came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscription {
    Subscribed,
    /// The connection holds its most topics already.
    Full,
    /// The connection is not stored (it closed).
    Gone,
}

/// Port: live connections, by id.
pub trait ConnectionStore: Send + Sync {
    fn put(&self, connection: &Connection) -> impl Future<Output = anyhow::Result<()>> + Send;
    fn get(&self, connection_id: &str) -> impl Future<Output = anyhow::Result<Option<Connection>>> + Send;
    /// Counts a received message (and its time as the connection's last), with the connection read in
    /// the same write; `None` when the
    /// connection is not stored.
    fn received(
        &self,
        connection_id: &str,
        now_ms: i64,
    ) -> impl Future<Output = anyhow::Result<Option<Received>>> + Send;
    /// Records a violation of the connection (an answer with error `code`), and a cool-down until
    /// `penalty_until_ms` when given (counted in its `times_exceeded`); its violations in all after it, `None` when it is not stored.
    fn violated(
        &self,
        connection_id: &str,
        code: &str,
        penalty_until_ms: Option<i64>,
    ) -> impl Future<Output = anyhow::Result<Option<u64>>> + Send;
    /// The tenant's unexpired connections opened by `subject` (an API key id, a JWT subject).
    fn subject_connections(
        &self,
        tenant: &str,
        subject: &str,
    ) -> impl Future<Output = anyhow::Result<Vec<String>>> + Send;
    /// How many unexpired connections the tenant has.
    fn tenant_connections(&self, tenant: &str) -> impl Future<Output = anyhow::Result<u64>> + Send;
    /// Keeps a connection opened without credentials until it authenticates with its first message:
    /// it must by `deadline_ms`, and the item goes by `expires_at` (unix seconds) either way.
    fn put_pending(
        &self,
        connection_id: &str,
        deadline_ms: i64,
        expires_at: i64,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// The deadline of a connection waiting for its first-message authentication, `None` when it is
    /// not waiting (authenticated, or gone).
    fn pending(&self, connection_id: &str) -> impl Future<Output = anyhow::Result<Option<i64>>> + Send;
    /// Forgets the connection, its subscriptions, and its pending authentication.
    fn delete(&self, connection_id: &str) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Subscribes the connection to a topic of its tenant until `expires_at` (unix seconds); the
    /// connection remembers its topics, so that deleting it removes them.
    /// Subscribes the connection to `topic` until `expires_at`, unless it is not stored or already
    /// holds [`super::MAX_TOPICS_PER_CONNECTION`] other topics (nothing is subscribed then).
    fn subscribe(
        &self,
        tenant: &str,
        topic: &str,
        connection_id: &str,
        expires_at: i64,
    ) -> impl Future<Output = anyhow::Result<Subscription>> + Send;
    /// The connections subscribed to a topic of a tenant.
    fn subscribers(&self, tenant: &str, topic: &str) -> impl Future<Output = anyhow::Result<Vec<String>>> + Send;
    fn unsubscribe(
        &self,
        tenant: &str,
        topic: &str,
        connection_id: &str,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// An event kept for `events/since`: its id (the `message_id` it was pushed with) and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptEvent {
    pub event_id: String,
    pub message: String,
}

/// Port: the events published to each topic, kept for a while so that a client that reconnects can
/// ask for what it missed.
pub trait EventLog: Send + Sync {
    /// Keeps the event under each of `topics` of `tenant` until `expires_at` (unix seconds).
    fn keep(
        &self,
        tenant: &str,
        topics: &[String],
        event: &KeptEvent,
        expires_at: i64,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// The unexpired events of one topic with an id after `after` (all, when `None`), oldest first,
    /// at most `limit`.
    fn since(
        &self,
        tenant: &str,
        topic: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = anyhow::Result<Vec<KeptEvent>>> + Send;
}

/// Why a push did not reach its connection.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The connection is closed (API Gateway's `410 GoneException`).
    #[error("connection {0} is gone")]
    Gone(String),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Port: sends one message to a connection, or closes it.
pub trait Pusher: Send + Sync {
    fn push(&self, connection_id: &str, message: &str) -> impl Future<Output = Result<(), PushError>> + Send;
    fn close(&self, connection_id: &str) -> impl Future<Output = Result<(), PushError>> + Send;
}
