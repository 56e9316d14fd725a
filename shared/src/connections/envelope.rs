//! The WebSocket protocol 2.0 envelope. Every message is a JSON object with `protocol_version`
//! (`"2.0"`), `message_type` and `message_id`. A client sends `request` (with `method` and `params`)
//! and `heartbeat` messages; the server answers `response`, `event`, `error` and `heartbeat`.
//!
//! A message is checked in this order, and the first failure is the answer: its size (at most
//! [`MAX_MESSAGE_BYTES`], else `MESSAGE_TOO_LARGE`), JSON object with only the envelope's fields
//! (`INVALID_MESSAGE_FORMAT`), `protocol_version` (`INVALID_PROTOCOL_VERSION`), `message_id`
//! (`INVALID_MESSAGE_ID`), `message_type` and its fields (`INVALID_MESSAGE_FORMAT`).

use serde_json::{json, Map, Value};

/// The only protocol version served.
pub const PROTOCOL_VERSION: &str = "2.0";
/// The largest message accepted: one API Gateway frame (a message may be 128 KiB there, but a frame
/// only 32 KiB, and clients are not asked to fragment).
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;
/// How often a client should send a heartbeat (API Gateway closes a connection idle for 10 minutes).
pub const HEARTBEAT_INTERVAL_SECS: u64 = 30;
/// The longest `message_id`.
pub const MAX_MESSAGE_ID_CHARS: usize = 128;

const FIELDS: [&str; 9] = [
    "protocol_version",
    "message_type",
    "message_id",
    "method",
    "params",
    "context",
    "client_id",
    "uptime",
    "metrics",
];

/// The protocol's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidMessageFormat,
    InvalidProtocolVersion,
    InvalidMessageId,
    MessageTooLarge,
    RateLimitExceeded,
    InvalidApiKey,
    UnauthorizedAccess,
    SecurityViolation,
}

impl ErrorCode {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidMessageFormat => "INVALID_MESSAGE_FORMAT",
            Self::InvalidProtocolVersion => "INVALID_PROTOCOL_VERSION",
            Self::InvalidMessageId => "INVALID_MESSAGE_ID",
            Self::MessageTooLarge => "MESSAGE_TOO_LARGE",
            Self::RateLimitExceeded => "RATE_LIMIT_EXCEEDED",
            Self::InvalidApiKey => "INVALID_API_KEY",
            Self::UnauthorizedAccess => "UNAUTHORIZED_ACCESS",
            Self::SecurityViolation => "SECURITY_VIOLATION",
        }
    }
}

/// A message the server refuses, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolError {
    pub code: ErrorCode,
    pub message: String,
    /// The refused message's id, when it had a readable one.
    pub request_id: Option<String>,
    pub details: Value,
}

impl ProtocolError {
    #[must_use]
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            request_id: None,
            details: json!({}),
        }
    }

    #[must_use]
    pub fn about(mut self, request_id: Option<&str>) -> Self {
        self.request_id = request_id.map(str::to_owned);
        self
    }

    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// What a client sent, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    Request {
        message_id: String,
        method: String,
        params: Map<String, Value>,
    },
    Heartbeat {
        message_id: String,
    },
}

fn valid_id(id: &str) -> bool {
    (1..=MAX_MESSAGE_ID_CHARS).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Checks a message as the module doc says.
///
/// # Errors
/// The [`ProtocolError`] to answer.
pub fn parse(body: &str) -> Result<Inbound, ProtocolError> {
    use ErrorCode::{InvalidMessageFormat, InvalidMessageId, InvalidProtocolVersion, MessageTooLarge};
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(ProtocolError::new(
            MessageTooLarge,
            format!("a message may be at most {MAX_MESSAGE_BYTES} bytes"),
        )
        .with_details(json!({"limit_bytes": MAX_MESSAGE_BYTES, "bytes": body.len()})));
    }
    let Ok(Value::Object(msg)) = serde_json::from_str::<Value>(body) else {
        return Err(ProtocolError::new(
            InvalidMessageFormat,
            "a message must be a JSON object",
        ));
    };
    let id = msg.get("message_id").and_then(Value::as_str).filter(|id| valid_id(id));
    if let Some(field) = msg.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(
            ProtocolError::new(InvalidMessageFormat, format!("unknown field {field}"))
                .about(id)
                .with_details(json!({"field": field, "allowed": FIELDS})),
        );
    }
    if msg.get("protocol_version").and_then(Value::as_str) != Some(PROTOCOL_VERSION) {
        return Err(ProtocolError::new(
            InvalidProtocolVersion,
            format!("protocol_version must be \"{PROTOCOL_VERSION}\""),
        )
        .about(id)
        .with_details(json!({"supported": [PROTOCOL_VERSION]})));
    }
    let Some(id) = id else {
        return Err(ProtocolError::new(
            InvalidMessageId,
            format!("message_id must be 1 to {MAX_MESSAGE_ID_CHARS} letters, digits, '-', '_', '.' or ':'"),
        ));
    };
    let message_id = id.to_owned();
    match msg.get("message_type").and_then(Value::as_str) {
        Some("heartbeat") => Ok(Inbound::Heartbeat { message_id }),
        Some("request") => {
            let method = msg
                .get("method")
                .and_then(Value::as_str)
                .filter(|m| (1..=128).contains(&m.len()));
            let Some(method) = method else {
                return Err(ProtocolError::new(InvalidMessageFormat, "a request needs a method").about(Some(id)));
            };
            let params = match msg.get("params") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(p)) => p.clone(),
                Some(_) => {
                    return Err(ProtocolError::new(InvalidMessageFormat, "params must be an object").about(Some(id)))
                }
            };
            Ok(Inbound::Request {
                message_id,
                method: method.to_owned(),
                params,
            })
        }
        _ => Err(ProtocolError::new(
            InvalidMessageFormat,
            "message_type must be request or heartbeat (the server sends the other types)",
        )
        .about(Some(id))),
    }
}

/// A server message of `message_type` with a fresh id and `fields`.
fn outgoing(message_type: &str, prefix: &str, fields: Value) -> String {
    outgoing_with_id(message_type, prefix, fields).1
}

/// The same, with its id: `<prefix>_` and 28 hex digits, the first 12 the milliseconds of its making,
/// so ids of one prefix sort by time.
fn outgoing_with_id(message_type: &str, prefix: &str, fields: Value) -> (String, String) {
    let id = crate::ids::new_id(prefix, chrono::Utc::now().timestamp_millis()).unwrap_or_else(|_| prefix.to_owned());
    let mut msg = json!({"protocol_version": PROTOCOL_VERSION, "message_type": message_type, "message_id": id});
    if let (Some(out), Value::Object(fields)) = (msg.as_object_mut(), fields) {
        out.extend(fields);
    }
    (id, msg.to_string())
}

/// Whether `id` is an event id as [`event`] makes them.
#[must_use]
pub fn is_event_id(id: &str) -> bool {
    id.strip_prefix("evt_").is_some_and(|rest| {
        rest.len() == crate::ids::MINTED_HEX_DIGITS
            && rest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Whether `message` (as sent) is an `error` message.
#[must_use]
pub fn is_error(message: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Kind<'a> {
        #[serde(borrow)]
        message_type: Option<&'a str>,
    }
    serde_json::from_slice::<Kind<'_>>(message).is_ok_and(|k| k.message_type == Some("error"))
}

/// An `error` message.
#[must_use]
pub fn error(e: &ProtocolError) -> String {
    outgoing(
        "error",
        "err",
        json!({"error_code": e.code.as_str(), "error_message": e.message, "details": e.details,
               "request_id": e.request_id}),
    )
}

/// The `response` to request `request_id`.
#[must_use]
pub fn response(request_id: &str, result: &Value, metrics: &Value) -> String {
    outgoing(
        "response",
        "resp",
        json!({"request_id": request_id, "result": result, "metrics": metrics}),
    )
}

/// The answer to a heartbeat: the server's time and how long the connection has been up.
#[must_use]
pub fn heartbeat(request_id: &str, client_id: &str, uptime_secs: f64, server_time: &str) -> String {
    outgoing(
        "heartbeat",
        "hb",
        json!({"request_id": request_id, "client_id": client_id, "uptime": uptime_secs,
               "server_time": server_time, "interval_secs": HEARTBEAT_INTERVAL_SECS}),
    )
}

/// An `event` of `event_type` with `data`.
#[must_use]
pub fn event(event_type: &str, data: &Value) -> String {
    kept_event(event_type, data).1
}

/// An `event` of `event_type` with `data`, and its id (`message_id`), by which `events/since` finds it.
#[must_use]
pub fn kept_event(event_type: &str, data: &Value) -> (String, String) {
    outgoing_with_id(
        "event",
        "evt",
        json!({"event_type": event_type, "source": "system", "data": data}),
    )
}

/// The `welcome` event a connection's first message gets: its client id and the protocol's limits.
#[must_use]
pub fn welcome(client_id: &str, messages_per_minute: u32) -> String {
    outgoing(
        "event",
        "evt",
        json!({"event_type": "welcome", "source": "system", "data": {
            "client_id": client_id, "protocol_version": PROTOCOL_VERSION,
            "heartbeat_interval_secs": HEARTBEAT_INTERVAL_SECS, "max_message_bytes": MAX_MESSAGE_BYTES,
            "messages_per_minute": messages_per_minute}}),
    )
}

#[cfg(test)]
mod tests;
