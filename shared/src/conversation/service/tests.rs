//! Contexts, prompts and the worker with in-memory stores and the local provider.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Map};

use chrono::Utc;
use serde_json::Value;

use super::*;
use crate::auth::{AuthMethod, Principal, Role as AuthRole};
use crate::contexts::model::{ContentType, Node};
use crate::contexts::requests::Limits;
use crate::contexts::store::ContextStore;
use crate::conversation::memory::InMemory;
use crate::models::ModelCatalog;
use crate::providers::retry::RetryPolicy;
use crate::tasks::model::{TaskStatus, TaskType};
use crate::worker::{Budget, Processed};

type TestDeps = Deps<InMemory, InMemory, InMemory>;

fn deps() -> TestDeps {
    Deps::in_memory().unwrap()
}

pub(crate) fn alice(tenant: &str) -> Principal {
    Principal {
        tenant: tenant.try_into().unwrap(),
        subject: "alice".into(),
        role: AuthRole::Operator,
        method: AuthMethod::ApiKey,
    }
}

fn body() -> Value {
    json!({"model_id": "local-echo", "nodes": [{"content": "You are a helpful assistant.", "content_type": "text",
           "metadata": {"role": "system"}}], "user_id": "user123", "priority": "medium"})
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    }
}

pub(crate) fn budget() -> Budget {
    Budget {
        deadline: tokio::time::Instant::now() + Duration::from_secs(5),
        lease_ms: 60_000,
        policy: quick(),
    }
}

#[tokio::test]
async fn a_prompt_is_answered_by_the_worker_and_the_context_holds_system_user_assistant_in_order() {
    let d = deps();
    let now = Utc::now();
    let (context, created) = d.create_context(&alice("acme"), &body(), now).await.unwrap();
    assert_eq!(
        (created.task_type, created.status),
        (TaskType::CreateContext, TaskStatus::Completed)
    );
    let prompt = d
        .add_prompt(
            &alice("acme"),
            &context.context_id,
            &json!({"prompt": "Capital of France?", "priority": "high"}),
            now,
        )
        .await
        .unwrap();
    assert_eq!(prompt.status, TaskStatus::Pending);
    let (band, message) = d.queue.queued.lock().unwrap()[0].clone();
    assert_eq!(band, crate::tasks::model::Band::High);
    assert_eq!(
        d.process(&message, Utc::now(), budget()).await.unwrap(),
        Processed::Completed
    );
    let roles: Vec<String> = d
        .context(&alice("acme"), &context.context_id, now)
        .await
        .unwrap()
        .nodes
        .iter()
        .map(|n| n.role().to_owned())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant"]);
    let done = d.task(&alice("acme"), &prompt.task_id, Utc::now()).await.unwrap();
    assert_eq!(
        (done.status, done.provider.as_deref(), done.attempts),
        (TaskStatus::Completed, Some("local"), 1)
    );
}

#[tokio::test]
async fn a_redelivered_message_writes_one_reply_and_is_acknowledged() {
    let d = deps();
    let now = Utc::now();
    let (context, _) = d.create_context(&alice("acme"), &body(), now).await.unwrap();
    d.add_prompt(&alice("acme"), &context.context_id, &json!({"prompt": "hi"}), now)
        .await
        .unwrap();
    let message = d.queue.queued.lock().unwrap()[0].1.clone();
    assert_eq!(d.process(&message, now, budget()).await.unwrap(), Processed::Completed);
    assert_eq!(
        d.process(&message, now, budget()).await.unwrap(),
        Processed::AlreadyFinished
    );
    let nodes = d.context(&alice("acme"), &context.context_id, now).await.unwrap().nodes;
    assert_eq!(nodes.iter().filter(|n| n.role() == "assistant").count(), 1);
}

#[tokio::test]
async fn unknown_models_foreign_and_expired_contexts_are_refused() {
    let d = deps();
    let now = Utc::now();
    let err = d
        .create_context(&alice("acme"), &json!({"model_id": "gpt-9"}), now)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "unknown model gpt-9; available: local-echo");
    let err = d
        .create_context(&alice("acme"), &json!({"model_id": "gpt-4o-mini"}), now)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "model gpt-4o-mini is not available: its provider has no credential configured; available: local-echo"
    );
    let (context, _) = d.create_context(&alice("acme"), &body(), now).await.unwrap();
    let foreign = d
        .add_prompt(&alice("other"), &context.context_id, &json!({"prompt": "hi"}), now)
        .await;
    assert!(matches!(foreign, Err(ConversationError::ContextNotFound(_))));
    let later = now + chrono::Duration::seconds(Limits::default().context_ttl_secs + 1);
    let expired = d.context(&alice("acme"), &context.context_id, later).await.unwrap_err();
    assert_eq!(
        expired.to_string(),
        format!("no context {} (it may have expired)", context.context_id)
    );
}

#[tokio::test]
async fn a_bad_prompt_writes_nothing() {
    let d = deps();
    let now = Utc::now();
    let (context, _) = d.create_context(&alice("acme"), &body(), now).await.unwrap();
    let err = d
        .add_prompt(&alice("acme"), &context.context_id, &json!({"prompt": 5}), now)
        .await
        .unwrap_err();
    assert!(matches!(err, ConversationError::Invalid(ref i) if i.field == "prompt"));
    assert_eq!(
        d.context(&alice("acme"), &context.context_id, now)
            .await
            .unwrap()
            .nodes
            .len(),
        1
    );
    assert!(d.queue.queued.lock().unwrap().is_empty());
}

#[tokio::test]
async fn prompts_of_a_context_are_queued_in_its_group_in_order_and_each_sees_the_earlier_reply() {
    let d = deps();
    let now = Utc::now();
    let (context, _) = d.create_context(&alice("acme"), &body(), now).await.unwrap();
    for prompt in ["first", "second"] {
        d.add_prompt(&alice("acme"), &context.context_id, &json!({"prompt": prompt}), now)
            .await
            .unwrap();
    }
    let queued: Vec<_> = d.queue.queued.lock().unwrap().iter().map(|(_, m)| m.clone()).collect();
    let groups = d.queue.groups.lock().unwrap().clone();
    assert_eq!(groups, [context.context_id.clone(), context.context_id.clone()]);
    for message in &queued {
        assert_eq!(d.process(message, now, budget()).await.unwrap(), Processed::Completed);
    }
    let nodes = d.context(&alice("acme"), &context.context_id, now).await.unwrap().nodes;
    let roles: Vec<&str> = nodes.iter().map(Node::role).collect();
    assert_eq!(roles, ["system", "user", "assistant", "user", "assistant"]);
    // The second reply was written with the first exchange in its history (4 messages).
    assert!(
        nodes[4].content.contains("4 message(s) received"),
        "{}",
        nodes[4].content
    );
}

fn principal(tenant: &str, subject: &str) -> Principal {
    Principal {
        subject: subject.into(),
        ..alice(tenant)
    }
}

#[tokio::test]
async fn the_quota_is_the_principals_whatever_user_ids_it_records_and_frees_as_contexts_expire() {
    // GIVEN a quota of 2 live contexts that live 60 s
    let mut d = deps();
    d.limits.max_contexts_per_user = 2;
    d.limits.context_ttl_secs = 60;
    let (start, secs, user) = (Utc::now(), chrono::Duration::seconds, |u: &str| json!({"user_id": u}));
    let (me, bob, abroad) = (alice("acme"), principal("acme", "bob"), alice("other"));
    // WHEN alice creates two contexts for two different user ids
    d.create_context(&me, &user("u1"), start).await.unwrap();
    d.create_context(&me, &user("u2"), start + secs(30)).await.unwrap();
    // THEN a third is refused whatever user id it names (or none), and the refusal names alice
    for body in [user("u3"), user("u1"), json!({})] {
        let err = d.create_context(&me, &body, start).await.unwrap_err();
        assert!(
            matches!(err, ConversationError::ContextLimit { ref owner, max: 2 } if owner == "alice"),
            "{err}"
        );
    }
    // AND another principal of the tenant naming alice's user ids, and alice in another tenant, have
    // their own quotas
    d.create_context(&bob, &user("u1"), start).await.unwrap();
    d.create_context(&abroad, &user("u1"), start).await.unwrap();
    // AND once alice's first context expires, its slot is free; the user id stays a recorded field
    let (context, task) = d.create_context(&me, &user("u9"), start + secs(61)).await.unwrap();
    assert_eq!(
        (context.user_id.as_deref(), task.user_id.as_deref()),
        (Some("u9"), Some("u9"))
    );
}

#[tokio::test]
async fn a_task_is_kept_for_the_retention_then_answered_as_not_found_though_not_yet_deleted() {
    // GIVEN tasks kept 60 s, and a pending prompt created now
    let mut d = deps();
    d.limits.task_retention_secs = 60;
    let now = Utc::now();
    let (context, _) = d.create_context(&alice("acme"), &body(), now).await.unwrap();
    let prompt = json!({"prompt": "hi"});
    let task = d
        .add_prompt(&alice("acme"), &context.context_id, &prompt, now)
        .await
        .unwrap();
    // WHEN it is read just before and just after its retention ends, and cancelled after it
    let before = d
        .task(&alice("acme"), &task.task_id, now + chrono::Duration::seconds(59))
        .await;
    let after = now + chrono::Duration::seconds(60);
    let gone = d.task(&alice("acme"), &task.task_id, after).await;
    let cancel = d.cancel_task(&alice("acme"), &task.task_id, after).await;
    // THEN it carries its expiry, is read before it, and is not found after it
    assert_eq!(task.expires_at, Some(now.timestamp() + 60));
    assert_eq!(before.unwrap().expires_at, task.expires_at);
    assert!(matches!(gone, Err(ConversationError::TaskNotFound(ref id)) if *id == task.task_id));
    assert!(matches!(cancel, Err(ConversationError::TaskNotFound(_))));
}

#[tokio::test]
async fn a_context_at_its_node_limit_takes_no_more_prompts_or_nodes() {
    let mut d = deps();
    d.limits.max_nodes_per_context = 3;
    let now = Utc::now();
    let (context, _) = d.create_context(&alice("acme"), &body(), now).await.unwrap();
    let id = &context.context_id;
    d.add_prompt(&alice("acme"), id, &json!({"prompt": "one"}), now)
        .await
        .unwrap();
    let err = d
        .add_prompt(&alice("acme"), id, &json!({"prompt": "two"}), now)
        .await
        .unwrap_err();
    assert!(matches!(err, ConversationError::ContextFull { max: 3, .. }), "{err}");
    let err = d
        .add_node(&alice("acme"), id, &json!({"content": "x"}), now)
        .await
        .unwrap_err();
    assert!(matches!(err, ConversationError::ContextFull { .. }), "{err}");
}

fn new_task(prompt: &str) -> crate::tasks::completion::NewTask {
    crate::tasks::completion::NewTask {
        prompt: prompt.into(),
        model: None,
        priority: 9,
        provider: None,
    }
}

#[tokio::test]
async fn a_standalone_task_is_queued_by_priority_and_the_worker_keeps_its_reply_on_the_task() {
    let d = deps();
    let created = d
        .create_task(&alice("acme"), new_task("Capital of France?"), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        (created.task_type, created.status),
        (TaskType::Completion, TaskStatus::Pending)
    );
    let (band, message) = d.queue.queued.lock().unwrap()[0].clone();
    assert_eq!(band, crate::tasks::model::Band::High);
    assert_eq!(
        d.process(&message, Utc::now(), budget()).await.unwrap(),
        Processed::Completed
    );
    let done = d.task(&alice("acme"), &created.task_id, Utc::now()).await.unwrap();
    assert_eq!(
        (done.status, done.provider.as_deref()),
        (TaskStatus::Completed, Some("local"))
    );
    assert!(done.output.unwrap().ends_with("Capital of France?"));
}

#[tokio::test]
async fn a_standalone_task_refuses_empty_or_long_prompts_and_a_provider_outside_the_chain() {
    let d = deps();
    for prompt in [String::new(), "x".repeat(1001)] {
        let err = d
            .create_task(&alice("acme"), new_task(&prompt), Utc::now())
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConversationError::Invalid(ref i) if i.field == "prompt"),
            "{err}"
        );
    }
    let mut wrong = new_task("hi");
    wrong.provider = Some("openai".into());
    let err = d.create_task(&alice("acme"), wrong, Utc::now()).await.unwrap_err();
    assert!(err.to_string().contains("served by local, not openai"), "{err}");
    assert!(d.queue.queued.lock().unwrap().is_empty(), "nothing may be queued");
}

/// Deps whose only model is served by a server that accepts connections and never answers.
async fn deps_with_a_hanging_provider() -> TestDeps {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let catalog = ModelCatalog::parse(&format!(
        r#"{{"default_model":"hang","providers":[{{"id":"hang","kind":"openai_compatible",
        "base_url":"http://{addr}/v1","description":"never answers"}}],
        "models":[{{"id":"hang","provider":"hang","provider_model":"m","fallback":[]}}]}}"#
    ))
    .unwrap();
    Deps {
        providers: Providers::new(&catalog, &BTreeMap::new(), Duration::from_secs(60), None).unwrap(),
        default_model: "hang".into(),
        ..deps()
    }
}

#[tokio::test]
async fn a_provider_that_never_answers_fails_the_task_with_provider_timeout_at_its_deadline() {
    // GIVEN a prompt to a model whose provider hangs, and a task deadline of 300 ms
    let d = deps_with_a_hanging_provider().await;
    let now = Utc::now();
    let (context, _) = d.create_context(&alice("acme"), &json!({}), now).await.unwrap();
    let task = d
        .add_prompt(&alice("acme"), &context.context_id, &json!({"prompt": "hello"}), now)
        .await
        .unwrap();
    let message = d.queue.queued.lock().unwrap()[0].1.clone();
    let budget = Budget {
        deadline: tokio::time::Instant::now() + Duration::from_millis(300),
        ..budget()
    };
    // WHEN the worker processes it
    let outcome = d.process(&message, now, budget).await.unwrap();
    // THEN the task failed with PROVIDER_TIMEOUT, stored, and the reply slot is empty
    assert_eq!(outcome, Processed::Failed);
    let stored = d.task(&alice("acme"), &task.task_id, Utc::now()).await.unwrap();
    assert_eq!(
        (stored.status, stored.error_code.as_deref()),
        (TaskStatus::Failed, Some("PROVIDER_TIMEOUT"))
    );
    let nodes = d.context(&alice("acme"), &context.context_id, now).await.unwrap().nodes;
    assert!(nodes.iter().all(|n| n.role() != "assistant"));
}

/// A context with a system node and a prompt "hi", its task, and a reply `text` for its slot (3) as
/// a worker of provider `earlier` would write it (not written).
async fn prompt_with_reply(
    d: &TestDeps,
    text: &str,
    now: chrono::DateTime<Utc>,
) -> (crate::contexts::model::Context, crate::tasks::model::Task, Node) {
    let (context, _) = d.create_context(&alice("acme"), &body(), now).await.unwrap();
    let task = d
        .add_prompt(&alice("acme"), &context.context_id, &json!({"prompt": "hi"}), now)
        .await
        .unwrap();
    let mut metadata = Map::new();
    metadata.insert("role".into(), "assistant".into());
    metadata.insert("provider".into(), "earlier".into());
    let reply = node(3, text.into(), ContentType::Text, metadata, "t", &context.context_id);
    (context, task, reply)
}

#[tokio::test]
async fn a_reply_stored_by_a_delivery_that_died_is_the_answer_of_the_next_one() {
    // GIVEN a prompt whose reply slot already holds a reply, and its task taken over after a crash
    let d = deps();
    let now = Utc::now();
    let (context, task, written) = prompt_with_reply(&d, "the first answer", now).await;
    d.contexts
        .put_node("acme", &context.context_id, &written, context.expires_at)
        .await
        .unwrap();
    let message = d.queue.queued.lock().unwrap()[0].1.clone();
    // WHEN it is delivered again
    assert_eq!(d.process(&message, now, budget()).await.unwrap(), Processed::Completed);
    // THEN the task's output is the stored reply, and the context holds it once
    let stored = d.task(&alice("acme"), &task.task_id, Utc::now()).await.unwrap();
    assert_eq!(stored.output.as_deref(), Some("the first answer"));
    let nodes = d.context(&alice("acme"), &context.context_id, now).await.unwrap().nodes;
    assert_eq!(nodes.iter().filter(|n| n.role() == "assistant").count(), 1);
}

#[tokio::test]
async fn a_context_refuses_content_past_its_size_limit_and_keeps_what_it_had() {
    // GIVEN a context limited to 20 KiB of content, holding 1 KiB
    let mut d = deps();
    d.limits.max_context_bytes = 20 * 1024;
    let now = Utc::now();
    let body = json!({"nodes": [{"content": "x".repeat(1024), "content_type": "text"}]});
    let (context, _) = d.create_context(&alice("acme"), &body, now).await.unwrap();
    // WHEN a prompt (its bytes plus 16 KiB for the reply) fits, and a second does not
    let first = json!({"prompt": "y".repeat(2048)});
    d.add_prompt(&alice("acme"), &context.context_id, &first, now)
        .await
        .unwrap();
    let err = d
        .add_prompt(&alice("acme"), &context.context_id, &json!({"prompt": "z"}), now)
        .await
        .unwrap_err();
    // THEN the second is refused with the limit, and the context holds the node and the first prompt
    assert!(
        matches!(err, ConversationError::ContextTooLarge { max: 20480, .. }),
        "{err}"
    );
    let nodes = d.context(&alice("acme"), &context.context_id, now).await.unwrap().nodes;
    assert_eq!(nodes.len(), 2);
    let too_big = json!({"nodes": [{"content": "x".repeat(21 * 1024), "content_type": "text"}]});
    let err = d.create_context(&alice("acme"), &too_big, now).await.unwrap_err();
    assert!(matches!(err, ConversationError::ContextTooLarge { .. }), "{err}");
}

/// Records each published change as `(task id, status)`.
#[derive(Default)]
struct Recorded(std::sync::Mutex<Vec<(String, TaskStatus)>>);

impl crate::tasks::updates::TaskUpdates for Recorded {
    fn published<'a>(
        &'a self,
        task: &'a crate::tasks::model::Task,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        self.0.lock().unwrap().push((task.task_id.clone(), task.status));
        Box::pin(async {})
    }
}

#[tokio::test]
async fn every_change_of_a_tasks_state_is_published_whoever_makes_it() {
    // GIVEN three prompts, and a place their changes are published
    let recorded = std::sync::Arc::new(Recorded::default());
    let mut d = deps();
    d.updates = Some(recorded.clone());
    let now = Utc::now();
    let (context, _) = d.create_context(&alice("acme"), &body(), now).await.unwrap();
    let mut ids = Vec::new();
    for text in ["answered", "cancelled", "dead-lettered"] {
        let task = d
            .add_prompt(&alice("acme"), &context.context_id, &json!({"prompt": text}), now)
            .await
            .unwrap();
        ids.push(task.task_id);
    }
    let message = |id: &str| TaskMessage {
        tenant: "acme".into(),
        task_id: id.to_owned(),
    };
    // WHEN the worker answers the first (and its message is delivered again), a caller cancels the
    // second, the third is dead-lettered
    d.process(&message(&ids[0]), now, budget()).await.unwrap();
    d.process(&message(&ids[0]), now, budget()).await.unwrap();
    d.cancel_task(&alice("acme"), &ids[1], now).await.unwrap();
    d.settle_dead_lettered(&message(&ids[2]), now).await.unwrap();
    // THEN each change was published with the state it reached; the redelivery published the first's
    // again, in case the delivery that finished it died before publishing
    let seen = recorded.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            (ids[0].clone(), TaskStatus::Completed),
            (ids[0].clone(), TaskStatus::Completed),
            (ids[1].clone(), TaskStatus::Cancelled),
            (ids[2].clone(), TaskStatus::Failed)
        ]
    );
}

/// Contexts whose worker read is answered as it was, after which `late` lands in its reply slot, as
/// a worker of an earlier version (which wrote replies on their own) would write it meanwhile.
struct FilledAfterRead {
    inner: InMemory,
    late: std::sync::Mutex<Option<(String, Node)>>,
}

impl ContextStore for FilledAfterRead {
    async fn create(
        &self,
        context: &crate::contexts::model::Context,
        quota: &crate::contexts::store::Quota,
        record: &crate::tasks::model::Task,
    ) -> Result<(), crate::conversation::store::StoreError> {
        ContextStore::create(&self.inner, context, quota, record).await
    }

    async fn get(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<crate::contexts::model::Context>, crate::conversation::store::StoreError> {
        let read = ContextStore::get(&self.inner, tenant, id).await?;
        let late = self.late.lock().unwrap().take();
        if let Some((context, node)) = late {
            assert!(self.inner.put_node(tenant, &context, &node, i64::MAX).await?);
        }
        Ok(read)
    }

    async fn reserve(
        &self,
        tenant: &str,
        id: &str,
        claim: crate::contexts::store::Claim,
        now: (&str, i64),
    ) -> Result<crate::contexts::store::Reserved, crate::conversation::store::StoreError> {
        self.inner.reserve(tenant, id, claim, now).await
    }

    async fn put_node(
        &self,
        tenant: &str,
        id: &str,
        node: &Node,
        expires_at: i64,
    ) -> Result<bool, crate::conversation::store::StoreError> {
        self.inner.put_node(tenant, id, node, expires_at).await
    }
}

impl crate::contexts::store::ContextEdits for FilledAfterRead {
    async fn delete_node(
        &self,
        tenant: &str,
        id: &str,
        seq: u64,
    ) -> Result<bool, crate::conversation::store::StoreError> {
        self.inner.delete_node(tenant, id, seq).await
    }

    async fn delete(&self, tenant: &str, id: &str) -> Result<bool, crate::conversation::store::StoreError> {
        crate::contexts::store::ContextEdits::delete(&self.inner, tenant, id).await
    }
}

#[tokio::test]
async fn a_reply_slot_filled_after_the_workers_read_is_the_answer_and_the_task_finishes() {
    // GIVEN a prompt, and a worker whose read of the context is followed by a reply landing in the
    // prompt's slot (its finish, carrying its own reply, is then refused)
    let d = deps();
    let now = Utc::now();
    let (context, task, late) = prompt_with_reply(&d, "the earlier worker's answer", now).await;
    let fresh = deps();
    let worker: Deps<FilledAfterRead, InMemory, InMemory> = Deps {
        contexts: FilledAfterRead {
            inner: d.contexts.clone(),
            late: std::sync::Mutex::new(Some((context.context_id.clone(), late))),
        },
        tasks: d.tasks.clone(),
        queue: d.queue.clone(),
        providers: fresh.providers,
        default_model: fresh.default_model,
        limits: fresh.limits,
        updates: None,
        metrics: None,
        tool_specs: None,
        tools: None,
    };
    let message = d.queue.queued.lock().unwrap()[0].1.clone();
    // WHEN the worker processes it
    assert_eq!(
        worker.process(&message, now, budget()).await.unwrap(),
        Processed::Completed
    );
    // THEN the task is completed with the reply its slot holds, never left running, and the context
    // holds that reply once
    let stored = d.task(&alice("acme"), &task.task_id, Utc::now()).await.unwrap();
    assert_eq!(stored.status, TaskStatus::Completed);
    assert_eq!(stored.output.as_deref(), Some("the earlier worker's answer"));
    let nodes = d.context(&alice("acme"), &context.context_id, now).await.unwrap().nodes;
    assert_eq!(nodes.iter().filter(|n| n.role() == "assistant").count(), 1);
}
