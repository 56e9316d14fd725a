//! `stage-dispatcher`: the messages the pipeline state machine sends to the stage queue — a gate to
//! keep or open, a stage attempt to assign to an agent, a stage done or lost, an execution over —
//! each handled on its own. A stage with no capable active agent waits on the queue (its message
//! made invisible for 1, 2, 4 … 32 s) until one comes or the attempt times out; a message that fails
//! comes back after 5 s. Both are reported as batch item failures.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;
use futures::future::join_all;
use lambda_runtime::{Error, LambdaEvent};
use shared::agents::store::AgentStore;
use shared::pipelines::engine::Engine;
use shared::pipelines::executions::store::ExecutionStore;
use shared::pipelines::redelivery::Redelivery;
use shared::pipelines::runs::{Dispatched, Runs, StageMessage};
use shared::tasks::stages::StageTasks;

use crate::worker::response;

/// Seconds before a message that failed is delivered again.
pub const RETRY_AFTER_SECS: u64 = 5;

fn attribute(record: &SqsMessage, name: &str) -> i64 {
    record.attributes.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Handles one record; whether it is to come back.
async fn one<P: Send + Sync, X: ExecutionStore, E: Engine, A: AgentStore, T: StageTasks, R: Redelivery>(
    runs: &Runs<P, X, E, A, T>,
    redelivery: &R,
    record: &SqsMessage,
) -> bool {
    let receipt = record.receipt_handle.clone().unwrap_or_default();
    let body = record.body.as_deref().unwrap_or_default();
    let message: StageMessage = match serde_json::from_str(body) {
        Ok(m) => m,
        Err(e) => {
            // Nothing can read it: it would fail every time, so it goes (logged).
            tracing::error!(error = %e, %body, "stage message not understood; dropped");
            return false;
        }
    };
    let sent_ms = attribute(record, "SentTimestamp");
    let receives = u32::try_from(attribute(record, "ApproximateReceiveCount")).unwrap_or(1);
    match runs.dispatch(message, sent_ms, receives, Utc::now()).await {
        Ok(Dispatched::Handled) => false,
        Ok(Dispatched::NoAgent(secs)) => {
            redelivery.after(&receipt, secs).await;
            true
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "stage message failed; it comes back");
            redelivery.after(&receipt, RETRY_AFTER_SECS).await;
            true
        }
    }
}

/// Processes a batch, its messages concurrently.
///
/// # Errors
/// Never: failures are reported per message.
pub async fn handle<P: Send + Sync, X: ExecutionStore, E: Engine, A: AgentStore, T: StageTasks, R: Redelivery>(
    runs: &Runs<P, X, E, A, T>,
    redelivery: &R,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let records = event.payload.records;
    let again = join_all(records.iter().map(|r| one(runs, redelivery, r))).await;
    let failures: Vec<String> = records
        .iter()
        .zip(again)
        .filter(|(_, again)| *again)
        .map(|(r, _)| r.message_id.clone().unwrap_or_default())
        .collect();
    Ok(response(failures))
}
