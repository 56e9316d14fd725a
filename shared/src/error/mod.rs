//! The one JSON error envelope every HTTP response uses:
//! `{"error": {"code": "…", "message": "…", "details": {…}}, "request_id": "…"}`.

use serde::Serialize;
use serde_json::Value;

mod mapping;

/// An error as the client sees it: an HTTP status, a stable `SCREAMING_SNAKE` code and a message.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after_secs: Option<u64>,
    /// What went wrong inside, for the log line the response writer adds with the request id; never
    /// shown to the client.
    pub cause: Option<String>,
}

/// A dependency (DynamoDB, SQS, Step Functions, …) could not be reached or could not answer now:
/// the marker an AWS SDK error carries into a capability's `Unknown` error, answered `503
/// DEPENDENCY_UNAVAILABLE` with `Retry-After` instead of `500`.
#[derive(Debug, thiserror::Error)]
#[error("dependency unavailable: {detail}")] // starts with UNAVAILABLE_PREFIX
pub struct Unavailable {
    pub detail: String,
}

/// How an [`Unavailable`] displays, first: what a wrapper that forwards its inner error's `Display`
/// (the capabilities' transparent `Unknown` variants, whose `source` skips the marker) still shows.
pub const UNAVAILABLE_PREFIX: &str = "dependency unavailable: ";

/// Whether `err` comes from a dependency that could not be reached: an [`Unavailable`] anywhere in
/// its chain, also behind any transparent `Unknown(anyhow::Error)` wrapper.
#[must_use]
pub fn is_unavailable(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut link = Some(err);
    while let Some(e) = link {
        if e.is::<Unavailable>() || e.to_string().starts_with(UNAVAILABLE_PREFIX) {
            return true;
        }
        link = e.source();
    }
    false
}

/// What a caller is told of an unreachable dependency, on every transport.
pub const UNAVAILABLE_MESSAGE: &str = "a service mcpflow depends on could not be reached; try again shortly";

/// Seconds a client is asked to wait after a `503 DEPENDENCY_UNAVAILABLE`.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
    request_id: &'a str,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Value>,
}

impl ApiError {
    #[must_use]
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after_secs: None,
            cause: None,
        }
    }

    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    #[must_use]
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    #[must_use]
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    #[must_use]
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }

    /// A 500 that says nothing internal; log the cause with the request id before returning it.
    #[must_use]
    pub fn internal() -> Self {
        Self::new(
            500,
            "INTERNAL_ERROR",
            "the server failed to handle this request; quote the request id when reporting it",
        )
    }

    /// A 500 that says nothing internal, carrying `cause` for the log line written with the request id.
    #[must_use]
    pub fn internal_because(cause: impl std::fmt::Display) -> Self {
        Self {
            cause: Some(cause.to_string()),
            ..Self::internal()
        }
    }

    /// A capability's unknown failure: `503 DEPENDENCY_UNAVAILABLE` (with `Retry-After`) when it
    /// comes from a dependency that could not be reached, else a `500`; the cause, prefixed with
    /// `what`, goes to the log line either way, never to the client.
    #[must_use]
    pub fn unknown(what: &str, err: &anyhow::Error) -> Self {
        let cause = format!("{what}: {err:#}");
        if is_unavailable(err.as_ref()) {
            return Self {
                cause: Some(cause),
                ..Self::unavailable()
            };
        }
        Self::internal_because(cause)
    }

    /// `503 DEPENDENCY_UNAVAILABLE` with `Retry-After`: a dependency could not be reached.
    #[must_use]
    pub fn unavailable() -> Self {
        Self::new(503, "DEPENDENCY_UNAVAILABLE", UNAVAILABLE_MESSAGE).with_retry_after(UNAVAILABLE_RETRY_AFTER_SECS)
    }

    /// The JSON body of the envelope.
    #[must_use]
    pub fn to_body(&self, request_id: &str) -> String {
        let envelope = Envelope {
            error: Body {
                code: self.code,
                message: &self.message,
                details: self.details.as_ref(),
            },
            request_id,
        };
        // Serialising plain strings and an already-valid `Value` cannot fail.
        serde_json::to_string(&envelope).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_unreachable_dependency_is_found_behind_context_and_transparent_wrappers_and_answered_503() {
        let down = || {
            anyhow::Error::new(Unavailable {
                detail: "dispatch failure".into(),
            })
        };
        let wrapped = anyhow::Error::new(crate::agents::AgentError::Unknown(down())).context("agent token not issued");
        let stored = crate::conversation::store::StoreError::Unknown(down().context("task store"));
        assert!(is_unavailable(wrapped.as_ref()) && is_unavailable(&stored));
        assert!(!is_unavailable(anyhow::anyhow!("a bug").as_ref()));
        let answered = ApiError::from(crate::agents::AgentError::Unknown(wrapped));
        assert_eq!(
            (answered.status, answered.code, answered.retry_after_secs),
            (503, "DEPENDENCY_UNAVAILABLE", Some(2))
        );
        let bug = ApiError::from(crate::agents::AgentError::Unknown(anyhow::anyhow!("a bug")));
        assert_eq!((bug.status, bug.code), (500, "INTERNAL_ERROR"));
    }

    #[test]
    fn envelope_has_code_message_details_and_request_id() {
        let err = ApiError::not_found("CONTEXT_NOT_FOUND", "no context ctx-1").with_details(json!({"id": "ctx-1"}));
        let body: Value = serde_json::from_str(&err.to_body("req-1")).unwrap();
        assert_eq!(
            body,
            json!({"error": {"code": "CONTEXT_NOT_FOUND", "message": "no context ctx-1", "details": {"id": "ctx-1"}},
                   "request_id": "req-1"})
        );
        assert_eq!(err.status, 404);
    }

    #[test]
    fn envelope_omits_absent_details() {
        let body: Value = serde_json::from_str(&ApiError::internal().to_body("r")).unwrap();
        assert!(body["error"].get("details").is_none());
        assert_eq!(body["error"]["code"], "INTERNAL_ERROR");
    }
}
