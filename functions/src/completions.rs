//! `/api/v1/completions`: ask a model without a context (a prompt or messages), read the completion,
//! cancel it. A completion is an `ai.completion` task; its id is the task's. Creating and cancelling
//! are audited.

use std::time::Duration;

use chrono::Utc;
use shared::auth::Principal;
use shared::completions::{parse, view, WAIT_SECS};
use shared::contexts::store::{ContextEdits, ContextStore};
use shared::conversation::errors::ConversationError;
use shared::conversation::service::Deps;
use shared::integrations::store::IntegrationStore;
use shared::tasks::model::{Task, TaskType};
use shared::tasks::store::{TaskCancel, TaskQueue, TaskStore};
use shared::ApiError;

use crate::api::requests::{CompletionPath, Id, NewItem};
use crate::api::{Authorized, Reply};

/// The first pause between reads of a waited-for completion; each pause is 1.5 times the one
/// before, up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(50);
const MAX_POLL: Duration = Duration::from_millis(1_000);

fn not_found(id: &str) -> ApiError {
    ApiError::not_found("COMPLETION_NOT_FOUND", format!("completion {id} not found"))
}

/// The tenant's completion: an `ai.completion` task (any other task, another tenant's, one past its
/// retention: not found).
async fn completion<C: ContextStore, T: TaskStore, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    principal: &Principal,
    id: &str,
) -> Result<Task, ApiError> {
    match deps.task(principal, id, Utc::now()).await {
        Ok(task) if task.task_type == TaskType::Completion => Ok(task),
        Ok(_) | Err(ConversationError::TaskNotFound(_)) => Err(not_found(id)),
        Err(e) => Err(e.into()),
    }
}

/// What the completions routes need: the conversation's dependencies, and the integrations a
/// completion may be asked through (`POST`).
pub struct CompletionDeps<D, I> {
    pub conversation: D,
    pub integrations: I,
}

/// `POST /api/v1/completions`: `202` with the queued completion; with `"wait": true`, `200` with the
/// finished one when it finishes within [`WAIT_SECS`] (else still `202`, to be read with `GET`).
///
/// # Errors
/// A wrong field (`400`), an unknown model (`400 MODEL_NOT_FOUND`), an unknown integration (`404`) or
/// one whose provider cannot be called (`400`), a store or queue failure.
pub async fn create<C: ContextStore, T: TaskStore, Q: TaskQueue, I: IntegrationStore>(
    deps: &CompletionDeps<Deps<C, T, Q>, I>,
    req: Authorized<NewItem<CompletionPath>>,
) -> Result<Reply, ApiError> {
    let conversation = &deps.conversation;
    let request = parse(&req.request.body, conversation.limits.max_prompt_bytes)?;
    let integration = match &request.integration_id {
        Some(id) => Some(shared::integrations::service::get(&deps.integrations, &req.principal, id).await?),
        None => None,
    };
    let wait = request.wait;
    let made = conversation
        .create_completion(&req.principal, request, integration.as_ref(), Utc::now())
        .await?;
    let deps = conversation;
    let id = made.task_id.clone();
    if !wait {
        return Ok(Reply::new(202, &view(&made)).about(id));
    }
    let until = tokio::time::Instant::now() + Duration::from_secs(WAIT_SECS);
    let mut pause = FIRST_POLL;
    let mut latest = made;
    while tokio::time::Instant::now() + pause < until {
        tokio::time::sleep(pause).await;
        latest = completion(deps, &req.principal, &id).await?;
        if latest.status.is_finished() {
            return Ok(Reply::ok(&view(&latest)).about(id));
        }
        pause = (pause * 3 / 2).min(MAX_POLL);
    }
    Ok(Reply::new(202, &view(&latest)).about(id))
}

/// `GET /api/v1/completions/{completionID}`: status, result, usage, error, timings.
///
/// # Errors
/// `COMPLETION_NOT_FOUND` (another tenant's too, or a task that is not a completion), a store failure.
pub async fn get<C: ContextStore, T: TaskStore, Q: TaskQueue, I>(
    deps: &CompletionDeps<Deps<C, T, Q>, I>,
    req: Authorized<Id<CompletionPath>>,
) -> Result<Reply, ApiError> {
    let task = completion(&deps.conversation, &req.principal, &req.request.id).await?;
    Ok(Reply::ok(&view(&task)))
}

/// `DELETE /api/v1/completions/{completionID}`: cancels a queued or running completion (a running
/// one's late reply is dropped); the cancelled completion.
///
/// # Errors
/// `COMPLETION_NOT_FOUND`, one already finished (`409 TASK_ALREADY_FINISHED`), a store failure.
pub async fn cancel<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue, I>(
    deps: &CompletionDeps<Deps<C, T, Q>, I>,
    req: Authorized<Id<CompletionPath>>,
) -> Result<Reply, ApiError> {
    let (deps, id) = (&deps.conversation, &req.request.id);
    completion(deps, &req.principal, id).await?;
    let cancelled = deps.cancel_task(&req.principal, id, Utc::now()).await?;
    Ok(Reply::ok(&view(&cancelled)))
}

pub mod stream;

#[cfg(test)]
mod tests;
