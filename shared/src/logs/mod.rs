//! A tenant's recent structured events, newest first: its requests (route, status, latency), denials
//! (`403`, `429`), task transitions and provider errors — what `GET /api/v1/logs` answers. The
//! functions record them as they run through their [`crate::metrics::Recorder`], kept in the instance
//! and written together with the metrics (one `BatchWriteItem` per 25), and DynamoDB's TTL removes
//! them after [`RETENTION_DAYS`].
//!
//! An event carries codes, ids, routes as templates (`GET /api/v1/tasks/{taskID}`) and figures, never
//! a body, a query string, a header or a credential; its message is cut to [`MAX_MESSAGE_CHARS`].
//! Events of a request without a tenant (a refused `401`) are not recorded: nobody could read them.

use std::future::Future;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub mod dynamodb;
pub mod memory;

/// The longest message kept.
pub const MAX_MESSAGE_CHARS: usize = 500;
/// Events in one page, by default and at most.
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 100;
/// How long events are kept (DynamoDB TTL; an expired event may linger up to a few days more, so a
/// page leaves those out).
pub const RETENTION_DAYS: i64 = 7;

/// How bad an event is; a filter on a level takes it and those above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    pub const ALL: [Self; 3] = [Self::Info, Self::Warn, Self::Error];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Info, Self::Warn, Self::Error]
            .into_iter()
            .find(|l| l.as_str() == s)
    }
}

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An answered request (any status but a denial).
    Request,
    /// A request refused for its caller's role (`403`) or rate (`429`).
    Denial,
    /// A task started, finished, failed or was cancelled.
    Task,
    /// A provider failed a task, or a task fell back to another provider.
    Provider,
}

impl EventKind {
    pub const ALL: [Self; 4] = [Self::Request, Self::Denial, Self::Task, Self::Provider];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Denial => "denial",
            Self::Task => "task",
            Self::Provider => "provider",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One event of a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEvent {
    /// `<at_ms, 15 digits>-<request id or task id>`: unique, sorts by time; the page cursor.
    pub event_id: String,
    #[serde(skip)]
    pub tenant: String,
    /// RFC 3339, milliseconds, UTC.
    pub at: String,
    #[serde(skip)]
    pub at_ms: i64,
    pub level: Level,
    pub kind: EventKind,
    pub message: String,
    /// The function that recorded it.
    pub function: String,
    /// Route, status, latency, ids, codes: what the kind records.
    pub fields: Map<String, Value>,
}

impl LogEvent {
    /// An event of `tenant` at `at_ms`, its id made from the time and `id` (a request or task id).
    #[must_use]
    pub fn new(tenant: &str, at_ms: i64, id: &str, level: Level, kind: EventKind, message: &str) -> Self {
        let at = chrono::DateTime::from_timestamp_millis(at_ms).unwrap_or_default();
        Self {
            event_id: format!("{at_ms:015}-{}", id.chars().take(64).collect::<String>()),
            tenant: tenant.to_owned(),
            at: crate::conversation::service::stamp(at),
            at_ms,
            level,
            kind,
            message: message.chars().take(MAX_MESSAGE_CHARS).collect(),
            function: String::new(),
            fields: Map::new(),
        }
    }

    /// The same event with `name: value` among its fields.
    #[must_use]
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(name.to_owned(), value.into());
        self
    }
}

/// An answered request of `tenant`: a denial (`403`, `429`) or a request, its level by its status.
#[must_use]
pub fn request_event(
    tenant: &str,
    request_id: &str,
    route: &str,
    status: u16,
    latency_ms: u64,
    subject: &str,
    code: Option<&str>,
) -> LogEvent {
    let kind = if matches!(status, 403 | 429) {
        EventKind::Denial
    } else {
        EventKind::Request
    };
    let level = match status {
        500.. => Level::Error,
        400..=499 => Level::Warn,
        _ => Level::Info,
    };
    let message = match code {
        Some(code) => format!("{route} answered {status} {code} in {latency_ms} ms"),
        None => format!("{route} answered {status} in {latency_ms} ms"),
    };
    let now = chrono::Utc::now().timestamp_millis();
    let mut event = LogEvent::new(tenant, now, request_id, level, kind, &message)
        .with("route", route)
        .with("status", status)
        .with("latency_ms", latency_ms)
        .with("subject", subject)
        .with("request_id", request_id);
    if let Some(code) = code {
        event = event.with("code", code);
    }
    event
}

/// A task's new state: started, completed, cancelled (`info`), failed (`error`; a provider's failure
/// is a `provider` event). A task completed by another provider than `asked` (the caller's, or the
/// first of its model's chain) fell back: a `provider` warning too.
#[must_use]
pub fn task_events(task: &crate::tasks::model::Task, asked: Option<&str>, at_ms: i64) -> Vec<LogEvent> {
    use crate::tasks::model::TaskStatus;
    let status = task.status.as_str();
    let (level, kind) = match task.status {
        TaskStatus::Failed if task.error_code.as_deref().is_some_and(|c| c.starts_with("PROVIDER")) => {
            (Level::Error, EventKind::Provider)
        }
        TaskStatus::Failed => (Level::Error, EventKind::Task),
        _ => (Level::Info, EventKind::Task),
    };
    let message = match (&task.error_code, &task.error) {
        (Some(code), Some(error)) => format!("task {} {status}: {code}: {error}", task.task_id),
        (Some(code), None) => format!("task {} {status}: {code}", task.task_id),
        _ => format!("task {} {status}", task.task_id),
    };
    let id = format!("{}.{status}", task.task_id);
    let mut event = LogEvent::new(&task.tenant, at_ms, &id, level, kind, &message)
        .with("task_id", task.task_id.as_str())
        .with("task_type", task.task_type.as_str())
        .with("status", status)
        .with("attempt", task.attempts);
    for (name, value) in [
        ("context_id", &task.context_id),
        ("provider", &task.provider),
        ("model", &task.model),
        ("code", &task.error_code),
    ] {
        if let Some(value) = value {
            event = event.with(name, value.as_str());
        }
    }
    let mut events = vec![event];
    if let (Some(asked), Some(used), TaskStatus::Completed) = (asked, &task.provider, task.status) {
        if asked != used {
            let message = format!("task {} fell back from provider {asked} to {used}", task.task_id);
            let id = format!("{}.fallback", task.task_id);
            events.push(
                LogEvent::new(&task.tenant, at_ms, &id, Level::Warn, EventKind::Provider, &message)
                    .with("task_id", task.task_id.as_str())
                    .with("requested_provider", asked)
                    .with("provider", used.as_str()),
            );
        }
    }
    events
}

/// Whether `cursor` is an event id (so one a listing could have handed out).
#[must_use]
pub fn is_event_id(cursor: &str) -> bool {
    cursor.len() <= 15 + 1 + 64
        && cursor.split_once('-').is_some_and(|(ms, id)| {
            ms.len() == 15
                && ms.bytes().all(|b| b.is_ascii_digit())
                && !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_graphic())
        })
}

/// Which events a page holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// This level and those above.
    pub level: Option<Level>,
    pub kind: Option<EventKind>,
    /// Milliseconds since the epoch, inclusive.
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub limit: usize,
    /// The id of the last event of the page before.
    pub after: Option<String>,
}

impl Default for Filter {
    fn default() -> Self {
        Self {
            level: None,
            kind: None,
            since_ms: None,
            until_ms: None,
            limit: DEFAULT_PAGE,
            after: None,
        }
    }
}

impl Filter {
    /// Whether `event` passes the level and kind.
    #[must_use]
    pub fn keeps(&self, event: &LogEvent) -> bool {
        self.level.is_none_or(|l| event.level >= l) && self.kind.is_none_or(|k| event.kind == k)
    }
}

/// A page of events, newest first, and the cursor of the next.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    pub events: Vec<LogEvent>,
    pub next_cursor: Option<String>,
}

/// Port: where events are kept.
pub trait LogStore: Send + Sync {
    /// Stores `events` (of any tenants), each kept for the store's retention.
    fn put<'a>(&'a self, events: &'a [LogEvent]) -> futures::future::BoxFuture<'a, anyhow::Result<()>>;
    /// A page of the tenant's events that `filter` keeps, newest first.
    fn page(&self, tenant: &str, filter: &Filter) -> impl Future<Output = anyhow::Result<Page>> + Send
    where
        Self: Sized;
}

#[cfg(test)]
mod tests;
