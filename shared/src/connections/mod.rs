//! WebSocket connections: who is on each one, since when, how much it has said, and the way to push
//! to it. A connection is authenticated on `$connect` (API key, bearer key or JWT in a header, or a
//! `token` query parameter) and stored with its principal; every message it sends is checked against
//! the protocol envelope ([`envelope`]) and its own rate limit before anything else. The functions
//! are in `functions/src/websocket.rs`.
//!
//! | file | what |
//! | --- | --- |
//! | `envelope.rs` | the protocol 2.0 messages: what a client may send, what the server answers |
//! | `store.rs` | the ports: connections, and pushing to one |
//! | `memory.rs` | both in memory, for unit tests |
//! | `pending.rs` | connections opened without credentials, authenticating with their first message |
//! | `dynamodb.rs` | connections in the table (`WSCONN#<id>` / `META`, with a TTL), their subscriptions, kept events |
//! | `publish.rs` | pushing an event to a topic's subscribers, keeping it for `events/since`; streamed chunks |
//! | `push.rs` | pushing through API Gateway's management API (`aws-sdk-apigatewaymanagement`) |

pub mod dynamodb;
pub mod envelope;
pub mod memory;
pub mod pending;
pub mod publish;
pub mod push;
pub mod store;
pub mod subscribe;

use serde::{Deserialize, Serialize};

use crate::auth::{AuthMethod, Principal, Role};

/// API Gateway closes every connection after 2 hours; the item outlives that by 10 minutes, so a
/// `$disconnect` that never ran leaves nothing for long.
pub const CONNECTION_TTL_SECS: i64 = 2 * 3600 + 600;

/// How long published events are kept for `events/since`.
pub const EVENT_RETENTION_SECS: i64 = 3600;

/// Topics one connection may hold at most (its item keeps them, and `events/since` reads each).
pub const MAX_TOPICS_PER_CONNECTION: usize = 100;

/// Messages one connection may send per minute (`WS_MESSAGES_PER_MINUTE`).
pub const DEFAULT_MESSAGES_PER_MINUTE: u32 = 100;

/// A live connection and its principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub connection_id: String,
    pub tenant: String,
    pub subject: String,
    pub role: Role,
    /// How it proved who it is on `$connect`.
    pub method: AuthMethod,
    /// Unix milliseconds.
    pub connected_at_ms: i64,
    /// Unix seconds; DynamoDB's TTL removes the item after it.
    pub expires_at: i64,
}

impl Connection {
    /// The principal that opened the connection, as the HTTP API's authorizer would pass it.
    ///
    /// # Errors
    /// When the stored tenant is not a tenant name (an item not written by `$connect`).
    pub fn principal(&self) -> anyhow::Result<Principal> {
        Ok(Principal {
            tenant: self.tenant.as_str().try_into()?,
            subject: self.subject.clone(),
            role: self.role,
            method: self.method,
        })
    }
}

/// What recording a received message tells: the connection, whether this is its first message (it
/// gets the welcome), and how many it has now received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub connection: Connection,
    pub first: bool,
    pub count: u64,
    /// The topics the connection is subscribed to.
    pub topics: Vec<String>,
    /// Its violations so far, by error code.
    pub violations: std::collections::BTreeMap<String, u64>,
    /// Unix milliseconds until which its messages are refused (a rate-limit cool-down); 0 for none.
    pub penalty_until_ms: i64,
    /// How many cool-downs it has earned (messages refused during one do not count).
    pub times_exceeded: u64,
}

impl Received {
    /// Every violation so far.
    #[must_use]
    pub fn violations_total(&self) -> u64 {
        self.violations.values().sum()
    }
}
