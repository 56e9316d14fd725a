//! Execution notifications: when an execution ends, its `notification.webhook` gets a `POST` of the
//! execution (as `GET` answers it), signed with the execution's own secret, which the caller got
//! once in the execute answer (or chose):
//!
//! - `X-Mcpflow-Timestamp`: Unix seconds when it was signed;
//! - `X-Mcpflow-Signature`: `v1=` and the lowercase hex HMAC-SHA256, keyed with the secret, of
//!   `<timestamp>.<body>`;
//! - `X-Mcpflow-Execution`: the execution id (the same on every retry).
//!
//! The URL passes the checks of registered tool endpoints (`AllowPrivateToolEndpoints`). A delivery
//! is tried [`ATTEMPTS`] times, 1, 2 then 4 s apart, each attempt at most [`ATTEMPT_TIMEOUT`], on a
//! failure to connect, a timeout, `429` or a `5xx`; any other answer ends it. How it went is kept on
//! the execution (`webhook_delivery`). A dispatcher that dies before recording it sends it again, so
//! a receiver may get one notification twice.

use std::time::Duration;

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use super::executions::{Delivery, Execution};
use crate::registered::endpoint::{post, CallError, EndpointPolicy};

/// Deliveries of one notification at most.
pub const ATTEMPTS: u32 = 4;

/// The longest one delivery attempt may take: four of them and the waits fit well inside the
/// dispatcher's 60 s.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// How notifications are sent.
#[derive(Debug, Clone, Copy)]
pub struct Webhooks {
    pub policy: EndpointPolicy,
    /// The first wait between attempts; each next one is twice as long.
    pub backoff: Duration,
}

impl Webhooks {
    /// The endpoint policy with each attempt held to [`ATTEMPT_TIMEOUT`].
    #[must_use]
    pub fn policy(&self) -> EndpointPolicy {
        EndpointPolicy {
            timeout: self.policy.timeout.min(ATTEMPT_TIMEOUT),
            ..self.policy
        }
    }
}

/// `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
#[must_use]
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    format!("v1={}", hmac_hex(secret.as_bytes(), &signed))
}

/// Lowercase hex HMAC-SHA256 of `data` keyed with `key`.
fn hmac_hex(key: &[u8], data: &[u8]) -> String {
    // HMAC takes a key of any length: this never fails.
    let Ok(mut mac) = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// A new signing secret: `whsec_` and 32 random bytes in hex.
///
/// # Errors
/// When the system's random source fails.
pub fn new_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!(
        "whsec_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

fn worth_retrying(e: &CallError) -> bool {
    match e {
        CallError::Status { status, .. } => status.is_server_error() || status.as_u16() == 429,
        CallError::Refused(_) | CallError::Redirected(_) | CallError::TooLarge => false,
        _ => true,
    }
}

/// Posts the ended execution to `url`, retrying as the module says; how it went.
pub async fn notify(webhooks: &Webhooks, url: &str, execution: &Execution) -> Delivery {
    let body = execution.view().to_string().into_bytes();
    let secret = execution.notification.secret.clone().unwrap_or_default();
    let mut wait = webhooks.backoff;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let now = chrono::Utc::now();
        let timestamp = now.timestamp();
        let headers = [
            ("x-mcpflow-timestamp", timestamp.to_string()),
            ("x-mcpflow-signature", signature(&secret, timestamp, &body)),
            ("x-mcpflow-execution", execution.execution_id.clone()),
        ];
        let sent = post(url, body.clone(), &headers, webhooks.policy()).await;
        let at = crate::conversation::service::stamp(now);
        match sent {
            Ok(_) => {
                return Delivery {
                    delivered: true,
                    attempts,
                    status: Some(200),
                    error: None,
                    at,
                }
            }
            Err(e) if attempts < ATTEMPTS && worth_retrying(&e) => {
                tracing::warn!(execution_id = %execution.execution_id, error = %e, "webhook not delivered; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(e) => {
                tracing::warn!(execution_id = %execution.execution_id, error = %e, "webhook not delivered");
                let status = match &e {
                    CallError::Status { status, .. } => Some(status.as_u16()),
                    _ => None,
                };
                return Delivery {
                    delivered: false,
                    attempts,
                    status,
                    error: Some(e.to_string()),
                    at,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_dot_body() {
        // RFC 4231, test case 2.
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let sig = signature("Jefe", 1_700_000_000, b"{}");
        assert_eq!(sig, format!("v1={}", hmac_hex(b"Jefe", b"1700000000.{}")));
        assert_ne!(sig, signature("Jefe", 1_700_000_001, b"{}"));
    }

    #[test]
    fn secrets_are_fresh() {
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert!(a.starts_with("whsec_") && a.len() == 6 + 64);
        assert_ne!(a, b);
    }
}
