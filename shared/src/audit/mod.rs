//! The audit log: one entry per mutating request of an authenticated principal — succeeded, failed,
//! or denied (403 forbidden, 429 rate limited) — kept for `AUDIT_TTL_DAYS` (default 90) and listed
//! newest first. A request refused with 401 has no known principal, hence no tenant, and is not
//! recorded here.
//!
//! DynamoDB layout: pk `AUDIT#<tenant>`, sk `<RFC 3339 time>#<request id>` (so a `Query` backwards is
//! newest first), `expires_at` for TTL. A cursor is the last sk, base64url: it can only page within
//! the caller's own tenant, because the tenant comes from the principal, never from the cursor.

pub mod dynamodb;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;

/// Default and largest page size of `GET /api/v1/audit`.
pub const DEFAULT_PAGE: usize = 20;
pub const MAX_PAGE: usize = 100;

/// How a mutation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Succeeded,
    Failed,
    Denied,
}

impl Outcome {
    /// From the HTTP status the request got: 2xx succeeded; 401, 403 and 429 (refused before it ran)
    /// denied; anything else failed.
    #[must_use]
    pub fn from_status(status: u16) -> Self {
        match status {
            200..=299 => Self::Succeeded,
            401 | 403 | 429 => Self::Denied,
            _ => Self::Failed,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Denied => "denied",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub tenant: String,
    pub subject: String,
    pub action: String,
    pub target: Option<String>,
    pub outcome: Outcome,
    pub status: u16,
    pub request_id: String,
    pub at: String,
    #[serde(skip)]
    pub expires_at: i64,
}

impl AuditEntry {
    /// The sort key: time, then request id.
    #[must_use]
    pub fn sort_key(&self) -> String {
        format!("{}#{}", self.at, self.request_id)
    }
}

/// A page of entries and the cursor of the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// Encodes the last sort key of a page.
#[must_use]
pub fn encode_cursor(sort_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(sort_key)
}

/// Decodes a cursor back into a sort key.
///
/// # Errors
/// When the cursor is not one this service produced.
pub fn decode_cursor(cursor: &str) -> Result<String, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| "cursor is not valid".to_owned())?;
    let key = String::from_utf8(bytes).map_err(|_| "cursor is not valid".to_owned())?;
    if key.contains('#') && key.len() < 256 {
        Ok(key)
    } else {
        Err("cursor is not valid".to_owned())
    }
}

/// Port: where audit entries live. Every method takes the tenant.
pub trait AuditLog: Send + Sync {
    fn record(&self, entry: &AuditEntry) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Newest first, `limit` entries after `after` (a sort key), with the next cursor.
    fn list(
        &self,
        tenant: &str,
        limit: usize,
        after: Option<&str>,
    ) -> impl Future<Output = anyhow::Result<AuditPage>> + Send;
}

/// In-memory [`AuditLog`] for unit tests.
#[derive(Debug, Default)]
pub struct InMemoryAuditLog {
    entries: Mutex<BTreeMap<(String, String), AuditEntry>>,
}

impl AuditLog for InMemoryAuditLog {
    async fn record(&self, entry: &AuditEntry) -> anyhow::Result<()> {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.insert((entry.tenant.clone(), entry.sort_key()), entry.clone());
        Ok(())
    }

    async fn list(&self, tenant: &str, limit: usize, after: Option<&str>) -> anyhow::Result<AuditPage> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mine = entries
            .iter()
            .rev()
            .filter(|((t, sk), _)| t == tenant && after.is_none_or(|a| sk.as_str() < a));
        let page: Vec<AuditEntry> = mine.take(limit + 1).map(|(_, e)| e.clone()).collect();
        let more = page.len() > limit;
        let entries: Vec<AuditEntry> = page.into_iter().take(limit).collect();
        let next_cursor = entries.last().filter(|_| more).map(|e| encode_cursor(&e.sort_key()));
        Ok(AuditPage { entries, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(tenant: &str, at: &str) -> AuditEntry {
        AuditEntry {
            tenant: tenant.into(),
            subject: "alice".into(),
            action: "POST /api/v1/keys".into(),
            target: None,
            outcome: Outcome::Succeeded,
            status: 201,
            request_id: format!("r-{at}"),
            at: at.into(),
            expires_at: 0,
        }
    }

    #[tokio::test]
    async fn pages_are_newest_first_and_the_cursor_continues_within_the_tenant() {
        let log = InMemoryAuditLog::default();
        for at in ["2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z", "2026-01-01T00:00:03Z"] {
            log.record(&entry("acme", at)).await.unwrap();
        }
        log.record(&entry("other", "2026-01-01T00:00:04Z")).await.unwrap();
        let first = log.list("acme", 2, None).await.unwrap();
        let ats: Vec<_> = first.entries.iter().map(|e| e.at.as_str()).collect();
        assert_eq!(ats, ["2026-01-01T00:00:03Z", "2026-01-01T00:00:02Z"]);
        let after = decode_cursor(first.next_cursor.as_deref().unwrap()).unwrap();
        let second = log.list("acme", 2, Some(&after)).await.unwrap();
        assert_eq!(second.entries.len(), 1);
        assert_eq!(second.next_cursor, None);
    }

    #[test]
    fn outcomes_follow_the_status_and_garbage_cursors_are_refused() {
        assert_eq!(Outcome::from_status(201), Outcome::Succeeded);
        assert_eq!(Outcome::from_status(403), Outcome::Denied);
        assert_eq!(Outcome::from_status(429), Outcome::Denied);
        assert_eq!(Outcome::from_status(404), Outcome::Failed);
        assert!(decode_cursor("!!!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("no-separator")).is_err());
    }
}
