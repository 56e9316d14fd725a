//! The outbox with in-memory stores: a creator that dies between the write and the send leaves an
//! entry the sweep sends once it is older than the grace period.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use crate::auth::Principal;
use crate::contexts::model::Context;
use crate::conversation::memory::InMemory;
use crate::conversation::service::tests::budget;
use crate::conversation::service::Deps;
use crate::tasks::model::{Band, Task, TaskStatus};
use crate::tasks::store::{TaskMessage, TaskQueue, TaskStore};
const GRACE: Duration = Duration::from_secs(60);
use crate::worker::Processed;
/// A queue whose send never returns: the creator is killed while it waits.
#[derive(Clone)]
struct Dead;

impl TaskQueue for Dead {
    async fn enqueue(&self, _: Band, _: &str, _: &TaskMessage) -> anyhow::Result<()> {
        std::future::pending().await
    }
}

fn alice() -> Principal {
    crate::conversation::service::tests::alice("acme")
}

/// The ids of the tasks whose messages `d`'s queue holds, in the order sent.
fn queued_ids(d: &Deps<InMemory, InMemory, InMemory>) -> Vec<String> {
    let queued = d.queue.queued.lock().unwrap();
    queued.iter().map(|(_, m)| m.task_id.clone()).collect()
}

/// A queue that refuses every message.
#[derive(Clone)]
struct Refusing;

impl TaskQueue for Refusing {
    async fn enqueue(&self, _: Band, _: &str, _: &TaskMessage) -> anyhow::Result<()> {
        anyhow::bail!("SQS is down")
    }
}

/// The same stores as `d`, sending through `queue`.
fn with_queue<Q: TaskQueue>(d: &Deps<InMemory, InMemory, InMemory>, queue: Q) -> Deps<InMemory, InMemory, Q> {
    Deps {
        contexts: d.contexts.clone(),
        tasks: d.tasks.clone(),
        queue,
        providers: d.providers.clone(),
        default_model: d.default_model.clone(),
        limits: d.limits,
        updates: None,
        metrics: None,
        tool_specs: None,
        tools: None,
    }
}

/// Prompts `context` through a creator that dies in its send; the outbox's entry is left.
async fn prompt_and_die(d: &Deps<InMemory, InMemory, InMemory>, context: &str) {
    let dying = with_queue(d, Dead);
    let (caller, body) = (alice(), json!({"prompt": "Still there?"}));
    let prompt = dying.add_prompt(&caller, context, &body, Utc::now());
    assert!(tokio::time::timeout(Duration::from_millis(200), prompt).await.is_err());
}

#[tokio::test]
async fn a_prompt_whose_creator_died_before_sending_is_sent_by_the_sweep_after_the_grace_and_answered() {
    let d = Deps::in_memory().unwrap();
    let (context, _) = d
        .create_context(&alice(), &json!({"model_id": "local-echo"}), Utc::now())
        .await
        .unwrap();
    prompt_and_die(&d, &context.context_id).await;
    assert!(d.queue.queued.lock().unwrap().is_empty());
    // Too young: its creator may still be sending it.
    assert_eq!(d.send_unsent(Utc::now(), GRACE, 100).await.unwrap(), 0);
    let later = Utc::now() + chrono::Duration::seconds(61);
    assert_eq!(d.send_unsent(later, GRACE, 100).await.unwrap(), 1);
    assert!(d.tasks.unsent.lock().unwrap().is_empty(), "the entry is removed");
    let (band, message) = d.queue.queued.lock().unwrap()[0].clone();
    assert_eq!(band, Band::Medium);
    assert_eq!(
        d.queue.groups.lock().unwrap()[0],
        context.context_id,
        "in its context's group"
    );
    assert_eq!(
        d.process(&message, Utc::now(), budget()).await.unwrap(),
        Processed::Completed
    );
    let nodes = d
        .context(&alice(), &context.context_id, Utc::now())
        .await
        .unwrap()
        .nodes;
    assert_eq!(nodes.len(), 2, "the prompt and its reply: {nodes:?}");
    assert_eq!(nodes[0].content, "Still there?");
}

/// A new context of alice's with one prompt sent: the context and the prompt's task.
async fn prompted(d: &Deps<InMemory, InMemory, InMemory>) -> (Context, Task) {
    let model = json!({"model_id": "local-echo"});
    let (context, _) = d.create_context(&alice(), &model, Utc::now()).await.unwrap();
    let prompt = json!({"prompt": "Hi"});
    let task = d
        .add_prompt(&alice(), &context.context_id, &prompt, Utc::now())
        .await
        .unwrap();
    (context, task)
}

/// What the worker's start does to a task: it leaves the outbox.
async fn start(d: &Deps<InMemory, InMemory, InMemory>, task_id: &str) {
    let (now, at) = (Utc::now(), Utc::now().to_rfc3339());
    let started = d.tasks.start("acme", task_id, &at, now.timestamp_millis(), 60_000);
    started.await.unwrap();
}

#[tokio::test]
async fn a_sent_prompt_leaves_the_outbox_when_it_starts_and_an_entry_of_a_finished_task_is_removed_unsent() {
    let d = Deps::in_memory().unwrap();
    let (context, task) = prompted(&d).await;
    assert_eq!(d.tasks.unsent.lock().unwrap().len(), 1, "sent, not started yet");
    start(&d, &task.task_id).await;
    assert!(d.tasks.unsent.lock().unwrap().is_empty());
    prompt_and_die(&d, &context.context_id).await;
    let dead = d.tasks.unsent.lock().unwrap()[0].clone();
    d.cancel_task(&alice(), &dead.message.task_id, Utc::now())
        .await
        .unwrap();
    assert!(
        d.tasks.unsent.lock().unwrap().is_empty(),
        "a cancelled task leaves the outbox"
    );
    // An entry the sweep reads after its task was cancelled (an index read lags its table).
    d.tasks.unsent.lock().unwrap().push(dead.clone());
    let dead = dead.message;
    let later = Utc::now() + chrono::Duration::seconds(61);
    assert_eq!(
        d.send_unsent(later, GRACE, 100).await.unwrap(),
        0,
        "a cancelled task is not sent"
    );
    assert!(d.tasks.unsent.lock().unwrap().is_empty());
    let queued = queued_ids(&d);
    assert_eq!(queued, vec![task.task_id]);
    assert_eq!(
        d.task(&alice(), &dead.task_id, Utc::now()).await.unwrap().status,
        TaskStatus::Cancelled
    );
}

#[tokio::test]
async fn a_refused_send_takes_the_whole_prompt_back_so_a_retry_starts_afresh() {
    let d = Deps::in_memory().unwrap();
    let (context, _) = d
        .create_context(&alice(), &json!({"model_id": "local-echo"}), Utc::now())
        .await
        .unwrap();
    let before = d.context(&alice(), &context.context_id, Utc::now()).await.unwrap();
    let tasks_before = d.tasks.tasks.lock().unwrap().len();
    let refusing = with_queue(&d, Refusing);
    let body = json!({"prompt": "Hello?"});
    // WHEN the queue refuses the prompt's message
    assert!(refusing
        .add_prompt(&alice(), &context.context_id, &body, Utc::now())
        .await
        .is_err());
    // THEN no task, no outbox entry and no prompt node is left
    assert_eq!(d.tasks.tasks.lock().unwrap().len(), tasks_before);
    assert!(d.tasks.unsent.lock().unwrap().is_empty());
    let after = d.context(&alice(), &context.context_id, Utc::now()).await.unwrap();
    assert_eq!(after.nodes, before.nodes);
    let charged = d.tasks.bytes.lock().unwrap()[&("acme".to_owned(), context.context_id.clone())];
    assert_eq!(charged, before.content_bytes(), "the prompt's bytes are given back");
    // AND a retry once the queue answers is one prompt, queued once
    let task = d
        .add_prompt(&alice(), &context.context_id, &body, Utc::now())
        .await
        .unwrap();
    let queued = queued_ids(&d);
    assert_eq!(queued, vec![task.task_id.clone()]);
    start(&d, &task.task_id).await;
    let later = Utc::now() + chrono::Duration::seconds(61);
    assert_eq!(d.send_unsent(later, GRACE, 100).await.unwrap(), 0);
}

#[tokio::test]
async fn a_task_still_queued_after_the_grace_is_sent_again_once() {
    let d = Deps::in_memory().unwrap();
    let (_, task) = prompted(&d).await;
    let later = Utc::now() + chrono::Duration::seconds(61);
    assert_eq!(d.send_unsent(later, GRACE, 100).await.unwrap(), 1);
    assert_eq!(
        d.send_unsent(later, GRACE, 100).await.unwrap(),
        0,
        "taken out once sent"
    );
    assert_eq!(queued_ids(&d), vec![task.task_id.clone(), task.task_id]);
}

#[tokio::test]
async fn a_completion_taken_by_its_streaming_caller_is_queued_by_the_sweep_only_once_its_lease_has_run_out() {
    // GIVEN a completion recorded and taken by the function that streams it (a 10 s lease), no message sent
    let d = Deps::in_memory().unwrap();
    let now = Utc::now();
    let request = crate::completions::parse(&json!({"prompt": "stream it"}), 1000).unwrap();
    let taken = d
        .start_completion(&alice(), request, None, (now, 10_000))
        .await
        .unwrap();
    let taken = taken.expect("a new completion is the caller's");
    assert_eq!(taken.status, TaskStatus::Running);
    assert!(queued_ids(&d).is_empty());
    // WHEN the sweep runs past the grace while the lease holds: the entry is left, nothing sent
    let during = now + chrono::Duration::seconds(5);
    assert_eq!(d.send_unsent(during, Duration::from_secs(1), 100).await.unwrap(), 0);
    // THEN once the lease has run out (the caller died), the sweep sends its message, once
    let after = now + chrono::Duration::seconds(11);
    assert_eq!(d.send_unsent(after, Duration::from_secs(1), 100).await.unwrap(), 1);
    assert_eq!(d.send_unsent(after, Duration::from_secs(1), 100).await.unwrap(), 0);
    assert_eq!(queued_ids(&d), vec![taken.task_id.clone()]);
    // AND a worker takes the task over and finishes it
    let message = TaskMessage {
        tenant: taken.tenant.clone(),
        task_id: taken.task_id.clone(),
    };
    let processed = d.process(&message, after, budget()).await.unwrap();
    assert_eq!(processed, Processed::Completed);
}

#[tokio::test]
async fn the_entry_of_a_taken_completion_that_finished_is_removed_unsent() {
    let d = Deps::in_memory().unwrap();
    let now = Utc::now();
    let request = crate::completions::parse(&json!({"prompt": "stream it"}), 1000).unwrap();
    let taken = d
        .start_completion(&alice(), request, None, (now, 10_000))
        .await
        .unwrap()
        .unwrap();
    let processed = d.process_started(taken, now, budget(), &mut ()).await.unwrap();
    assert_eq!(processed, Processed::Completed);
    let after = now + chrono::Duration::seconds(11);
    assert_eq!(d.send_unsent(after, Duration::from_secs(1), 100).await.unwrap(), 0);
    assert!(queued_ids(&d).is_empty());
    assert!(
        d.tasks.unsent(i64::MAX, 100).await.unwrap().is_empty(),
        "the entry is gone"
    );
}
