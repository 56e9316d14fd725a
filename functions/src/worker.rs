//! `task-worker`: SQS batches from the three FIFO task queues; each message is one task, grouped by
//! context. Groups run concurrently, the messages of one group one after another in queue order;
//! each message gets a deadline that ends before the invocation's. Reports the messages to retry
//! (`ReportBatchItemFailures`): after a message of a group fails, it and every later message of
//! that group, as AWS requires for FIFO queues, so the order of a context holds.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use lambda_runtime::{Error, LambdaEvent};

use shared::connections::publish::{ChunkPublisher, WebSocketPublisher};
use shared::contexts::store::{ContextEdits, ContextStore};
use shared::conversation::service::Deps;
use shared::metrics::{self, Outcome};
use shared::providers::retry::RetryPolicy;
use shared::tasks::store::{TaskMessage, TaskQueue, TaskStore};
use shared::worker::{Budget, ChunkSink, Processed};
use tokio::time::Instant;

/// Time kept back from the invocation's deadline to finish the task and answer Lambda.
pub const MARGIN: Duration = Duration::from_secs(2);

/// What the worker was configured with.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// One task at most, provider calls, retries and fallbacks included.
    pub task_deadline: Duration,
    pub policy: RetryPolicy,
}

/// Where a streamed task's chunks go (its changes of state go through `Deps::updates`).
pub trait TaskEvents: Send + Sync {
    type Chunks<'a>: ChunkSink
    where
        Self: 'a;
    /// Where one task's chunks go.
    fn chunks(&self) -> Self::Chunks<'_>;
}

/// No WebSocket API configured: the chunks go nowhere.
impl TaskEvents for () {
    type Chunks<'a> = ();
    fn chunks(&self) {}
}

impl<S: Send + Sync, P: Send + Sync> TaskEvents for Arc<WebSocketPublisher<S, P>>
where
    for<'a> ChunkPublisher<'a, S, P>: ChunkSink,
{
    type Chunks<'a>
        = ChunkPublisher<'a, S, P>
    where
        Self: 'a;

    fn chunks(&self) -> ChunkPublisher<'_, S, P> {
        WebSocketPublisher::chunks(self)
    }
}

impl<E: TaskEvents> TaskEvents for Option<E> {
    type Chunks<'a>
        = Option<E::Chunks<'a>>
    where
        Self: 'a;

    fn chunks(&self) -> Option<E::Chunks<'_>> {
        self.as_ref().map(E::chunks)
    }
}

/// Processes a batch.
///
/// # Errors
/// Never: failures are reported per message.
pub async fn handle<C: ContextStore + ContextEdits, T: TaskStore, Q: TaskQueue, E: TaskEvents>(
    deps: &Deps<C, T, Q>,
    settings: WorkerSettings,
    events: &E,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let remaining = remaining(event.context.deadline);
    let invocation_end = Instant::now() + remaining.saturating_sub(MARGIN);
    let counted = shared::aws::calls::enabled();
    if counted {
        shared::aws::calls::reset();
    }
    let groups = groups(event.payload.records);
    let runs = groups
        .iter()
        .map(|group| run_group(deps, settings, events, invocation_end, group));
    let failures = join_all(runs).await.into_iter().flatten().collect();
    if counted {
        // What `make test` holds a task's path to (`MCPFLOW_COUNT_CALLS=1`, never in a deployment).
        let tasks: Vec<String> = groups.iter().flatten().filter_map(task_id).collect();
        tracing::info!(?tasks, aws_calls = %shared::aws::calls::summary(), "the batch's AWS round trips");
    }
    Ok(response(failures))
}

/// The task id of a record, if it is a task message.
fn task_id(record: &SqsMessage) -> Option<String> {
    let message = serde_json::from_str::<TaskMessage>(record.body.as_deref()?).ok()?;
    Some(message.task_id)
}

/// Time left until the invocation's deadline (unix milliseconds).
fn remaining(deadline_ms: u64) -> Duration {
    let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// The records by `MessageGroupId`, each group in queue order, groups in order of first appearance.
/// A record without a group (a standard queue) is a group of its own.
#[must_use]
pub fn groups(records: Vec<SqsMessage>) -> Vec<Vec<SqsMessage>> {
    let mut out: Vec<(Option<String>, Vec<SqsMessage>)> = Vec::new();
    for record in records {
        let group = record.attributes.get("MessageGroupId").cloned();
        match out.iter_mut().find(|(g, _)| group.is_some() && *g == group) {
            Some((_, members)) => members.push(record),
            None => out.push((group, vec![record])),
        }
    }
    out.into_iter().map(|(_, members)| members).collect()
}

/// Runs one group's messages in order; the ids to report for retry.
async fn run_group<C: ContextStore + ContextEdits, T: TaskStore, Q: TaskQueue, E: TaskEvents>(
    deps: &Deps<C, T, Q>,
    settings: WorkerSettings,
    events: &E,
    invocation_end: Instant,
    group: &[SqsMessage],
) -> Vec<String> {
    for (i, record) in group.iter().enumerate() {
        let full = Instant::now() + settings.task_deadline;
        let deadline = full.min(invocation_end);
        // A task that cannot get its whole deadline any more waits for the next invocation rather
        // than failing for want of time (only when the timeout is below 5 x the task deadline).
        let starved = deadline < full && i > 0;
        if starved || !run_one(deps, settings, events, deadline, record).await {
            return group[i..].iter().map(id).collect();
        }
    }
    Vec::new()
}

/// Runs one message; `false` when it must be retried.
async fn run_one<C: ContextStore + ContextEdits, T: TaskStore, Q: TaskQueue, E: TaskEvents>(
    deps: &Deps<C, T, Q>,
    settings: WorkerSettings,
    events: &E,
    deadline: Instant,
    record: &SqsMessage,
) -> bool {
    let Some(message) = record
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str::<TaskMessage>(b).ok())
    else {
        // Not a task message: retrying cannot help; the DLQ alarm is for real failures.
        tracing::error!(message_id = %id(record), "unreadable task message dropped");
        return true;
    };
    let budget = Budget {
        deadline,
        lease_ms: lease_ms(settings.task_deadline),
        policy: settings.policy,
    };
    tracing::info!(task_id = %message.task_id, message_id = %id(record), "task received");
    let started = std::time::Instant::now();
    let mut chunks = events.chunks();
    let processed = deps
        .process_streaming(&message, chrono::Utc::now(), budget, &mut chunks)
        .await;
    // A task that failed was still processed: only an error of this delivery is a failed invocation.
    let outcome = if processed.is_err() {
        Outcome::Failed
    } else {
        Outcome::Succeeded
    };
    metrics::record_invocation(deps.metrics.as_ref(), Some(&message.tenant), started, outcome).await;
    match processed {
        Ok(Processed::Busy) => {
            tracing::warn!(task_id = %message.task_id, "task leased by another delivery; will be retried");
            false
        }
        Ok(outcome) => {
            tracing::info!(task_id = %message.task_id, ?outcome, "task processed");
            true
        }
        Err(err) => {
            tracing::error!(task_id = %message.task_id, error = %err, "task processing failed; will retry");
            false
        }
    }
}

/// The lease a delivery takes on its task: past its deadline, so it is never taken over while it
/// runs; a crashed delivery's task is taken over by the next delivery after the queue's visibility
/// timeout, which is longer still.
#[must_use]
pub fn lease_ms(task_deadline: Duration) -> i64 {
    i64::try_from((task_deadline + MARGIN * 2).as_millis()).unwrap_or(i64::MAX)
}

fn id(record: &SqsMessage) -> String {
    record.message_id.clone().unwrap_or_default()
}

/// The batch response reporting the messages with these ids for retry.
#[must_use]
pub fn response(failures: Vec<String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    response
}

#[cfg(test)]
mod tests;
