//! `task-dead-letters`: the dead-letter queues of the task queues. A message lands there after
//! `maxReceiveCount` receives without finishing; its task is settled — completed with the reply a
//! dead delivery stored, else `failed` with `DEAD_LETTERED` — so no task stays `pending` or
//! `running` for ever.

use crate::worker::response;
use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent};
use shared::contexts::store::{ContextEdits, ContextStore};
use shared::conversation::service::Deps;
use shared::tasks::store::{TaskMessage, TaskQueue, TaskStore};

/// Fails the task of each dead-lettered message.
///
/// # Errors
/// Never: a store failure is reported per message, to be retried.
pub async fn handle<C: ContextStore + ContextEdits, T: TaskStore, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    event: LambdaEvent<SqsEvent>,
) -> Result<aws_lambda_events::sqs::SqsBatchResponse, Error> {
    let mut failures = Vec::new();
    for record in event.payload.records {
        let id = record.message_id.clone().unwrap_or_default();
        let Some(message) = record
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<TaskMessage>(b).ok())
        else {
            tracing::error!(message_id = %id, "unreadable dead-lettered message dropped");
            continue;
        };
        match deps.settle_dead_lettered(&message, chrono::Utc::now()).await {
            Ok(settled) => tracing::warn!(task_id = %message.task_id, settled, "dead-lettered task"),
            Err(err) => {
                tracing::error!(task_id = %message.task_id, error = %err, "dead-lettered task not failed; will retry");
                failures.push(id);
            }
        }
    }
    Ok(response(failures))
}
