//! `POST /api/v1/completions/stream`: a completion answered as Server-Sent Events while the provider
//! is still generating, from a function URL in response-streaming mode (`api::streaming`).
//!
//! The function records the completion and takes it itself (its lease, as a worker's), so no worker
//! runs it meanwhile; its outbox entry stays until it finishes, and should the function die, the
//! outbox sweep queues it for the worker once the lease has run out: a stream cut short never loses
//! the completion, which `GET /api/v1/completions/{id}` reads as usual. The events:
//!
//! - `completion`: the completion as `GET` shows it, `running`, first (before the provider answers);
//! - `chunk`: `{"attempt", "seq", "text"}` per piece of the reply as it comes (a later attempt of the
//!   model's chain starts its text again, from `seq` 1);
//! - `completion` again, last: the finished completion (status, result, usage, timings, error);
//! - `error` instead, should the store fail mid-way: the error envelope (the completion finishes
//!   through the worker);
//!
//! and a comment line, `: keep-alive`, every [`KEEP_ALIVE`] while it runs.
//!
//! A caller that disconnects does not stop the completion; `DELETE /api/v1/completions/{id}` does.

use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt;
use serde::Serialize;
use serde_json::json;
use shared::completions::{parse, view};
use shared::contexts::store::{ContextEdits, ContextStore};
use shared::conversation::service::Deps;
use shared::integrations::store::IntegrationStore;
use shared::providers::retry::RetryPolicy;
use shared::tasks::model::Task;
use shared::tasks::store::{TaskQueue, TaskStore};
use shared::worker::{Budget, Chunk, ChunkSink};
use shared::ApiError;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use super::{completion, CompletionDeps};
use crate::api::requests::{CompletionPath, NewItem};
use crate::api::{Authorized, BodyStream, Reply};

/// The route the function URL serves.
pub const ROUTE: &str = "POST /api/v1/completions/stream";

/// A comment line (`: keep-alive`) goes out this often while the completion runs, so no proxy
/// between (CloudFront waits 60 s at most between two reads from its origin) takes a slow provider's
/// silence for a dead stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What the streaming route needs: the completions' dependencies and the worker's settings, since
/// it runs the completion itself.
pub struct StreamDeps<D, I> {
    pub completions: CompletionDeps<D, I>,
    /// As the worker's: provider calls, retries and fallbacks end within it.
    pub task_deadline: Duration,
    pub policy: RetryPolicy,
}

/// One Server-Sent Event: its name and its data, one line of JSON.
fn event(name: &str, data: &impl Serialize) -> Bytes {
    let data = serde_json::to_string(data).unwrap_or_else(|_| "null".into());
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// Stops the keep-alive however the run ends (a panic included), so the stream can end.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The chunks, as `chunk` events; a caller gone is no reason to stop.
struct Events(UnboundedSender<Bytes>);

impl ChunkSink for Events {
    async fn chunk(&mut self, _: &Task, chunk: &Chunk) {
        let data = json!({"attempt": chunk.attempt, "seq": chunk.seq, "text": chunk.text});
        let _ = self.0.send(event("chunk", &data));
    }
}

/// `POST /api/v1/completions/stream`: the body of `POST /api/v1/completions` (`stream` and `wait`
/// are implied and ignored); `200` with `text/event-stream` (see the module doc).
///
/// # Errors
/// Before the stream starts, as `POST /api/v1/completions`: a wrong field (`400`), an unknown model
/// (`400 MODEL_NOT_FOUND`) or integration (`404`), a store failure.
pub async fn stream<C, T, Q, I>(
    deps: &'static StreamDeps<Deps<C, T, Q>, I>,
    req: Authorized<NewItem<CompletionPath>>,
) -> Result<Reply, ApiError>
where
    C: ContextStore + ContextEdits + 'static,
    T: TaskStore + 'static,
    Q: TaskQueue + 'static,
    I: IntegrationStore,
{
    let conversation = &deps.completions.conversation;
    let request = parse(&req.request.body, conversation.limits.max_prompt_bytes)?;
    let integration = match &request.integration_id {
        Some(id) => Some(shared::integrations::service::get(&deps.completions.integrations, &req.principal, id).await?),
        None => None,
    };
    let budget = Budget {
        deadline: tokio::time::Instant::now() + deps.task_deadline,
        lease_ms: crate::worker::lease_ms(deps.task_deadline),
        policy: deps.policy,
    };
    let now = Utc::now();
    let taken = conversation
        .start_completion(&req.principal, request, integration.as_ref(), (now, budget.lease_ms))
        .await?;
    let task = taken.ok_or_else(|| ApiError::internal_because("a new completion was taken by another runner"))?;
    let (id, first) = (task.task_id.clone(), event("completion", &view(&task)));
    let (events, rest) = unbounded_channel();
    let Authorized {
        principal, request_id, ..
    } = req;
    let run_id = id.clone();
    let keep_alive = {
        let events = events.clone();
        AbortOnDrop(tokio::spawn(async move {
            let mut every = tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
            loop {
                every.tick().await;
                if events.send(Bytes::from_static(b": keep-alive\n\n")).is_err() {
                    break;
                }
            }
        }))
    };
    tokio::spawn(async move {
        let mut sink = Events(events.clone());
        let ran = conversation.process_started(task, now, budget, &mut sink).await;
        drop(keep_alive);
        let last = match ran {
            Ok(_) => completion(conversation, &principal, &run_id).await,
            Err(e) => Err(e.into()),
        };
        let last = match last {
            Ok(task) => event("completion", &view(&task)),
            Err(e) => {
                tracing::error!(completion_id = %run_id, error = %e.message, "the streamed completion's store failed; the worker finishes it");
                let body: serde_json::Value = serde_json::from_str(&e.to_body(&request_id)).unwrap_or_default();
                event("error", &body)
            }
        };
        let _ = events.send(last);
    });
    let rest = futures::stream::unfold(rest, |mut rest| async move { rest.recv().await.map(|b| (b, rest)) });
    let mut reply = Reply::text(String::from_utf8_lossy(&first).into_owned(), "text/event-stream")
        .with_header("cache-control", "no-cache".into())
        .about(id);
    reply.stream = Some(BodyStream(rest.boxed()));
    Ok(reply)
}
