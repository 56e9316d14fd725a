//! The service object of contexts, tasks and the worker: their stores, the queue, the providers and
//! the limits. Each capability adds its operations in its own `service` module (`crate::contexts`,
//! `crate::tasks`, `crate::worker`); what they share is here.

use chrono::{DateTime, SecondsFormat, Utc};

pub(crate) use super::records::node;
use crate::contexts::model::Node;
use crate::contexts::requests::Limits;
use crate::contexts::store::ContextStore;
pub use crate::conversation::errors::ConversationError;
use crate::conversation::store::StoreError;
use crate::providers::registry::Providers;
use crate::tasks::model::Task;
use crate::tasks::store::{Finish, Start, TaskMessage, TaskQueue, TaskStore};

/// Everything the operations need.
pub struct Deps<C, T, Q> {
    pub contexts: C,
    pub tasks: T,
    pub queue: Q,
    pub providers: Providers,
    pub default_model: String,
    pub limits: Limits,
    /// Where a task's changes of state are published (`None`: nowhere).
    pub updates: Option<std::sync::Arc<dyn crate::tasks::updates::TaskUpdates>>,
    /// Where tasks' starts and finishes are counted (`None`: nowhere).
    pub metrics: Option<crate::metrics::Recorder>,
    /// The registered tools a completion's request is checked against (`None`: it may offer none).
    pub tool_specs: Option<std::sync::Arc<dyn crate::completions::tools::ToolSpecs>>,
    /// The registered tools, run: where completions run (the worker, the streaming function).
    /// `None` elsewhere, so that the other functions link no JSON Schema validator.
    pub tools: Option<std::sync::Arc<dyn crate::completions::tools::ToolBox>>,
}

impl<C, T, Q> Deps<C, T, Q> {
    /// Publishes the task's new state, if anything listens.
    pub(crate) async fn publish(&self, task: &Task) {
        if let Some(updates) = &self.updates {
            updates.published(task).await;
        }
    }

    /// Publishes a task that has just finished, counts it in its tenant's `task:<status>` series
    /// with the time from its creation to its finish (the wait a caller sees), and logs it.
    pub(crate) async fn finished(&self, task: &Task) {
        let counted = async {
            let (Some(recorder), Some(finished)) = (&self.metrics, &task.finished_at) else {
                return;
            };
            let series = crate::metrics::task_series(task.status.as_str());
            let outcome = match task.status {
                crate::tasks::model::TaskStatus::Failed => crate::metrics::Outcome::Failed,
                _ => crate::metrics::Outcome::Succeeded,
            };
            let sample = recorder.sample(&task.tenant, &series, between_ms(&task.created_at, finished), outcome);
            let at_ms = chrono::Utc::now().timestamp_millis();
            // The provider asked for: the caller's, else the first of the model's chain.
            let first = task
                .model_id
                .as_deref()
                .and_then(|m| self.providers.chain(m).ok())
                .and_then(|chain| chain.into_iter().next())
                .map(|(_, provider, _)| provider);
            let asked = task.requested_provider.clone().or(first);
            let events = crate::logs::task_events(task, asked.as_deref(), at_ms)
                .into_iter()
                .map(|event| recorder.event(event));
            tokio::join!(sample, futures::future::join_all(events));
        };
        tokio::join!(self.publish(task), counted);
    }

    /// Counts a task that has just started for the first time in its tenant's `task:started` series,
    /// with the time it waited in its queue (a delivery again after a crash is not a start), and logs it.
    pub(crate) async fn started(&self, task: &Task, at: &str) {
        if let (Some(recorder), 1) = (&self.metrics, task.attempts) {
            let series = crate::metrics::task_series("started");
            let waited = between_ms(&task.created_at, at);
            let sample = recorder.sample(&task.tenant, &series, waited, crate::metrics::Outcome::Succeeded);
            let at_ms = chrono::Utc::now().timestamp_millis();
            let events = crate::logs::task_events(task, None, at_ms)
                .into_iter()
                .map(|event| recorder.event(event));
            tokio::join!(sample, futures::future::join_all(events));
        }
    }
}

/// Milliseconds from one timestamp to a later one (0 when either does not parse).
fn between_ms(from: &str, to: &str) -> u64 {
    let parse = |s: &str| DateTime::parse_from_rfc3339(s).ok();
    match (parse(from), parse(to)) {
        (Some(from), Some(to)) => u64::try_from((to - from).num_milliseconds()).unwrap_or(0),
        _ => 0,
    }
}

/// A timestamp as tasks and contexts record it (RFC 3339, milliseconds, UTC).
#[must_use]
pub fn stamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn unknown(e: impl std::fmt::Display) -> ConversationError {
    ConversationError::Unknown(anyhow::anyhow!("{e}"))
}

impl<C: ContextStore, T: TaskStore, Q: TaskQueue> Deps<C, T, Q> {
    /// The model exists and its provider is configured.
    pub(crate) fn check_model(&self, model_id: &str) -> Result<(), ConversationError> {
        if self.providers.available_models().iter().any(|m| m == model_id) {
            return Ok(());
        }
        Err(ConversationError::ModelNotFound {
            configured: self.providers.knows(model_id),
            model: model_id.to_owned(),
            available: self.providers.available_models(),
        })
    }

    /// Finishes the task as `finish` says, with a prompt's reply node (and its context's expiry), and
    /// publishes its new state; `false` when the finish did not take (the task was finished,
    /// cancelled or taken over meanwhile: whoever did that published).
    pub(crate) async fn finish_and_publish(
        &self,
        mut task: Task,
        at: &str,
        finish: &Finish,
        reply: Option<(&Node, i64)>,
    ) -> Result<bool, ConversationError> {
        if !self.tasks.finish(&task, at, finish, reply).await? {
            return Ok(false);
        }
        crate::tasks::model::apply_finish(&mut task, at, finish);
        self.finished(&task).await;
        Ok(true)
    }

    /// Takes the task whatever its lease (SQS will not deliver it again, or never did); `None` when
    /// it had finished already.
    pub(crate) async fn take_over(&self, message: &TaskMessage, at: &str) -> Result<Option<Task>, ConversationError> {
        // A "now" past any lease: the take-over condition then holds for a running task too.
        let start = self.tasks.start(&message.tenant, &message.task_id, at, i64::MAX / 2, 0);
        match start.await {
            Ok(Start::Started(task)) => Ok(Some(task)),
            Ok(_) | Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
