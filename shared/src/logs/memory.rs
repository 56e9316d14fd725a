//! [`LogStore`] in memory, for unit tests.

use std::sync::Mutex;

use futures::future::BoxFuture;

use super::{Filter, LogEvent, LogStore, Page};

/// Every event put, in the order put.
#[derive(Debug, Default)]
pub struct InMemoryLogs {
    pub events: Mutex<Vec<LogEvent>>,
}

impl InMemoryLogs {
    /// The events put so far.
    pub fn all(&self) -> Vec<LogEvent> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl LogStore for InMemoryLogs {
    fn put<'a>(&'a self, events: &'a [LogEvent]) -> BoxFuture<'a, anyhow::Result<()>> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(events);
        Box::pin(async { Ok(()) })
    }

    async fn page(&self, tenant: &str, filter: &Filter) -> anyhow::Result<Page> {
        let mut events: Vec<LogEvent> = self
            .all()
            .into_iter()
            .filter(|e| e.tenant == tenant && filter.keeps(e))
            .filter(|e| filter.since_ms.is_none_or(|s| e.at_ms >= s) && filter.until_ms.is_none_or(|u| e.at_ms <= u))
            .filter(|e| filter.after.as_deref().is_none_or(|a| e.event_id.as_str() < a))
            .collect();
        events.sort_by(|a, b| b.event_id.cmp(&a.event_id));
        let more = events.len() > filter.limit;
        events.truncate(filter.limit);
        let next_cursor = events.last().filter(|_| more).map(|e| e.event_id.clone());
        Ok(Page { events, next_cursor })
    }
}
