//! `task-outbox`: run by a `Schedule` event every minute. Sends the message of every queued task
//! whose creator died between storing it and sending it (the outbox entries older than
//! `OUTBOX_GRACE_SECONDS`), so
//! no task stays `pending` for ever; see `shared::tasks::outbox`.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent};
use serde::Serialize;
use shared::contexts::store::ContextStore;
use shared::conversation::service::Deps;
use shared::tasks::store::{TaskQueue, TaskStore};
/// Outbox entries one run handles at most; the rest wait for the next run.
pub const ENTRIES_PER_RUN: usize = 500;

/// What a run did.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Swept {
    pub sent: usize,
}

/// Sends what the outbox holds past its grace period.
///
/// # Errors
/// A store or queue failure (the next run takes over where this one stopped).
pub async fn handle<C: ContextStore, T: TaskStore, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    grace: std::time::Duration,
    _event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<Swept, Error> {
    let sent = deps.send_unsent(chrono::Utc::now(), grace, ENTRIES_PER_RUN).await?;
    if sent > 0 {
        tracing::warn!(sent, "outbox: sent messages whose creators died before sending them");
    }
    Ok(Swept { sent })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_scheduled_event_fixture_runs_and_an_empty_outbox_sends_nothing() {
        let deps = Deps::in_memory().unwrap();
        let event = crate::http::test_support::lambda_event("task-outbox", "scheduled");
        let swept = handle(&deps, std::time::Duration::from_secs(60), event).await;
        assert_eq!(swept.unwrap(), Swept { sent: 0 });
    }
}
