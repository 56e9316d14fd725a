//! Notifications a registered tool's endpoint streams while it runs (an `mcp` tool answering
//! NDJSON), relayed to the MCP caller as they arrive: `notifications/progress` with the caller's own
//! progress token (none sent when the caller gave none), `notifications/message` at or above the
//! request's log level (`_meta["io.modelcontextprotocol/logLevel"]`, SEP-2575; every level when it
//! names none). Anything else, or a notification whose params do not read, is dropped and logged.
//!
//! rmcp answers such a request as `text/event-stream`: the notifications, then the result.

#![allow(deprecated)] // MCP logging (SEP-2577 deprecates it; protocol 2025-11-25 and the suite still use it)

use rmcp::model::{LoggingMessageNotificationParam, ProgressNotificationParam, ProgressToken, RequestMetaObject};
use rmcp::service::{Peer, RequestContext, RoleServer};
use serde_json::Value;

/// MCP's log levels, least severe first.
const LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

fn severity(level: &Value) -> Option<usize> {
    LEVELS.iter().position(|l| level == *l)
}

/// Where one request's notifications go.
pub struct Relay {
    peer: Peer<RoleServer>,
    progress: Option<ProgressToken>,
    /// The least severe level relayed.
    floor: usize,
}

impl Relay {
    /// The relay for the request of `context`, with its `_meta` (progress token, log level).
    #[must_use]
    pub fn new(context: &RequestContext<RoleServer>, meta: Option<&RequestMetaObject>) -> Self {
        let meta = meta.unwrap_or(&context.meta);
        let level = meta.log_level().map(|l| serde_json::to_value(l).unwrap_or_default());
        Self {
            peer: context.peer.clone(),
            progress: meta.get_progress_token(),
            floor: level.as_ref().and_then(severity).unwrap_or(0),
        }
    }

    /// Sends `note` on to the caller, if it is one the caller asked for.
    pub async fn forward(&self, note: Value) {
        let params = note["params"].clone();
        let sent = match note["method"].as_str().unwrap_or_default() {
            "notifications/progress" => {
                let Some(token) = self.progress.clone() else { return };
                let mut params = params;
                params["progressToken"] = serde_json::to_value(&token).unwrap_or_default();
                match serde_json::from_value::<ProgressNotificationParam>(params) {
                    Ok(p) => self.peer.notify_progress(p).await.map_err(|e| e.to_string()),
                    Err(e) => Err(format!("unreadable progress: {e}")),
                }
            }
            "notifications/message" => {
                if severity(&params["level"]).is_some_and(|s| s < self.floor) {
                    return;
                }
                match serde_json::from_value::<LoggingMessageNotificationParam>(params) {
                    Ok(p) => self.peer.notify_logging_message(p).await.map_err(|e| e.to_string()),
                    Err(e) => Err(format!("unreadable log message: {e}")),
                }
            }
            other => Err(format!("{other} is not relayed")),
        };
        if let Err(reason) = sent {
            tracing::info!(%reason, "a tool endpoint's notification was dropped");
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn levels_order_from_debug_to_emergency() {
        assert_eq!(severity(&json!("debug")), Some(0));
        assert!(severity(&json!("warning")) > severity(&json!("info")));
        assert_eq!(severity(&json!("loud")), None);
    }
}
