//! Subscribing a connection to a topic of its tenant: the WebSocket `subscribe` and
//! `POST /api/v1/resources/{uri}/subscribe` alike.

use super::store::{ConnectionStore, Subscription};
use super::{Connection, MAX_TOPICS_PER_CONNECTION};
use crate::auth::Principal;

/// Why a subscription was not made.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    /// Not open, not the caller's, or another tenant's: all answered alike.
    #[error("no open WebSocket connection {0} of yours")]
    ConnectionNotFound(String),
    #[error("a connection may hold {MAX_TOPICS_PER_CONNECTION} topics")]
    Full,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// The caller's own open connection: of its tenant and its subject (a principal subscribes only the
/// connections it opened), unexpired at `now` (unix seconds).
///
/// # Errors
/// [`SubscribeError::ConnectionNotFound`] for any other, or a store failure.
pub async fn own_connection<S: ConnectionStore>(
    store: &S,
    who: &Principal,
    connection_id: &str,
    now: i64,
) -> Result<Connection, SubscribeError> {
    store
        .get(connection_id)
        .await?
        .filter(|c| c.tenant == who.tenant.as_str() && c.subject == who.subject && c.expires_at > now)
        .ok_or_else(|| SubscribeError::ConnectionNotFound(connection_id.to_owned()))
}

/// Subscribes `connection` to `topic` for as long as it lasts.
///
/// # Errors
/// [`SubscribeError::Full`], [`SubscribeError::ConnectionNotFound`] when it closed meanwhile, or a
/// store failure.
pub async fn subscribe<S: ConnectionStore>(
    store: &S,
    connection: &Connection,
    topic: &str,
) -> Result<(), SubscribeError> {
    let outcome = store
        .subscribe(
            &connection.tenant,
            topic,
            &connection.connection_id,
            connection.expires_at,
        )
        .await?;
    match outcome {
        Subscription::Subscribed => Ok(()),
        Subscription::Full => Err(SubscribeError::Full),
        Subscription::Gone => Err(SubscribeError::ConnectionNotFound(connection.connection_id.clone())),
    }
}
