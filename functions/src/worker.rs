//! `task-worker`: SQS batches from the three task queues; each message is one task. Reports the
//! messages to retry (`ReportBatchItemFailures`): a task leased by another delivery, or a store failure.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{Error, LambdaEvent};
use shared::conversation::service::Deps;
use shared::conversation::store::{ContextEdits, ContextStore, TaskMessage, TaskQueue, TaskStore};
use shared::conversation::worker::Processed;
use shared::providers::retry::RetryPolicy;

/// How long a delivery owns a running task: past the function timeout, so a crash frees it.
pub const LEASE_MS: i64 = 90_000;

/// Seconds before a task that waits its turn (or is leased elsewhere) is delivered again.
pub const RETRY_SECS: u32 = 2;

/// Processes a batch.
///
/// # Errors
/// Never: failures are reported per message.
pub async fn handle<C: ContextStore + ContextEdits, T: TaskStore, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let mut failures = Vec::new();
    for record in event.payload.records {
        let id = record.message_id.clone().unwrap_or_default();
        let Some(message) = record
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<TaskMessage>(b).ok())
        else {
            // Not a task message: retrying cannot help; the DLQ alarm is for real failures.
            tracing::error!(message_id = %id, "unreadable task message dropped");
            continue;
        };
        match deps
            .process(&message, chrono::Utc::now(), LEASE_MS, RetryPolicy::default())
            .await
        {
            Ok(outcome @ (Processed::Busy | Processed::Waiting)) => {
                retry_soon(deps, &record, &message).await;
                tracing::info!(task_id = %message.task_id, ?outcome, "task not ready; will be retried");
                failures.push(id);
            }
            Ok(outcome) => tracing::info!(task_id = %message.task_id, ?outcome, "task processed"),
            Err(err) => {
                tracing::error!(task_id = %message.task_id, error = %err, "task processing failed; will retry");
                failures.push(id);
            }
        }
    }
    Ok(response(failures))
}

/// Shortens the wait before `record` is delivered again, best effort.
async fn retry_soon<C: ContextStore + ContextEdits, T: TaskStore, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    record: &SqsMessage,
    message: &TaskMessage,
) {
    // Back soon rather than after the queue's whole visibility timeout.
    let (arn, receipt) = (record.event_source_arn.as_deref(), record.receipt_handle.as_deref());
    if let (Some(arn), Some(receipt)) = (arn, receipt) {
        if let Err(err) = deps.queue.retry_later(arn, receipt, RETRY_SECS).await {
            tracing::warn!(task_id = %message.task_id, error = %err, "could not shorten the retry");
        }
    }
}

/// The batch response reporting the messages with these ids for retry.
fn response(failures: Vec<String>) -> SqsBatchResponse {
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
