//! The worker's batch handling with in-memory stores and the local provider.

use std::collections::HashMap;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use shared::auth::{AuthMethod, Principal, Role};
use shared::conversation::memory::InMemory;
use shared::conversation::service::Deps;
use shared::providers::retry::RetryPolicy;
use shared::tasks::model::TaskStatus;
use shared::tasks::store::TaskStore;

use super::*;

type TestDeps = Deps<InMemory, InMemory, InMemory>;

fn deps() -> TestDeps {
    Deps::in_memory().unwrap()
}

fn operator() -> Principal {
    Principal {
        tenant: "acme".try_into().unwrap(),
        subject: "alice".into(),
        role: Role::Operator,
        method: AuthMethod::ApiKey,
    }
}

fn settings() -> WorkerSettings {
    WorkerSettings {
        task_deadline: Duration::from_secs(5),
        policy: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
    }
}

fn record(id: &str, group: &str, body: &str) -> SqsMessage {
    let mut r = SqsMessage::default();
    r.message_id = Some(id.into());
    r.body = Some(body.into());
    r.attributes = HashMap::from([("MessageGroupId".to_owned(), group.to_owned())]);
    r
}

fn event(records: Vec<SqsMessage>, seconds_left: i64) -> LambdaEvent<SqsEvent> {
    let mut payload = SqsEvent::default();
    payload.records = records;
    let mut context = Context::default();
    context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis() + seconds_left * 1000).unwrap();
    LambdaEvent::new(payload, context)
}

#[test]
fn records_are_grouped_by_message_group_in_queue_order() {
    let batch = vec![record("1", "a", ""), record("2", "b", ""), record("3", "a", "")];
    let ids: Vec<Vec<String>> = groups(batch).iter().map(|g| g.iter().map(id).collect()).collect();
    assert_eq!(ids, vec![vec!["1", "3"], vec!["2"]]);
}

#[tokio::test]
async fn prompts_of_two_contexts_in_one_batch_are_all_answered_in_order() {
    // GIVEN two contexts with two prompts each, queued in one batch
    let d = deps();
    let now = chrono::Utc::now();
    let body = json!({"model_id": "local-echo"});
    let mut records = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (context, _) = d.create_context(&operator(), &body, now).await.unwrap();
        for n in 0..2 {
            let task = d
                .add_prompt(
                    &operator(),
                    &context.context_id,
                    &json!({"prompt": format!("p{n}")}),
                    now,
                )
                .await
                .unwrap();
            let message = json!({"tenant": "acme", "task_id": task.task_id}).to_string();
            records.push(record(&task.task_id, &context.context_id, &message));
            tasks.push(task.task_id);
        }
    }
    // WHEN the worker handles the batch
    let answer = handle(&d, settings(), &(), event(records, 60)).await.unwrap();
    // THEN nothing is reported for retry, every task completed, and each reply saw the one before
    assert!(answer.batch_item_failures.is_empty());
    for id in &tasks {
        let task = TaskStore::get(&d.tasks, "acme", id).await.unwrap().unwrap();
        assert_eq!(task.status, TaskStatus::Completed, "{id}");
    }
    let second = TaskStore::get(&d.tasks, "acme", &tasks[1]).await.unwrap().unwrap();
    assert!(
        second.output.unwrap().contains("3 message(s)"),
        "the second prompt saw the first's reply"
    );
}

#[tokio::test]
async fn a_group_that_cannot_get_a_whole_deadline_is_returned_for_retry_after_its_first_message() {
    // GIVEN one context with two prompts, and an invocation with less time left than a task's deadline
    let d = deps();
    let now = chrono::Utc::now();
    let (context, _) = d.create_context(&operator(), &json!({}), now).await.unwrap();
    let mut records = Vec::new();
    for n in 0..2 {
        let task = d
            .add_prompt(
                &operator(),
                &context.context_id,
                &json!({"prompt": format!("p{n}")}),
                now,
            )
            .await
            .unwrap();
        let message = json!({"tenant": "acme", "task_id": task.task_id}).to_string();
        records.push(record(&task.task_id, &context.context_id, &message));
    }
    let second = records[1].message_id.clone().unwrap();
    // WHEN the worker handles them with 4 s left (the deadline is 5 s)
    let answer = handle(&d, settings(), &(), event(records, 4)).await.unwrap();
    // THEN the first ran and the second waits for the next invocation, still pending
    let retried: Vec<_> = answer
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(retried, vec![second.clone()]);
    let task = TaskStore::get(&d.tasks, "acme", &second).await.unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Pending);
}

#[tokio::test]
async fn a_dead_lettered_task_is_failed_with_its_code_and_a_finished_one_is_left_alone() {
    let d = deps();
    let now = chrono::Utc::now();
    let (context, _) = d.create_context(&operator(), &json!({}), now).await.unwrap();
    let task = d
        .add_prompt(&operator(), &context.context_id, &json!({"prompt": "p"}), now)
        .await
        .unwrap();
    let message = json!({"tenant": "acme", "task_id": task.task_id}).to_string();
    let answer = crate::dead_letters::handle(&d, event(vec![record("m", "g", &message)], 10))
        .await
        .unwrap();
    assert!(answer.batch_item_failures.is_empty());
    let failed = TaskStore::get(&d.tasks, "acme", &task.task_id).await.unwrap().unwrap();
    assert_eq!(
        (failed.status, failed.error_code.as_deref()),
        (TaskStatus::Failed, Some("DEAD_LETTERED"))
    );
    let again = crate::dead_letters::handle(&d, event(vec![record("m", "g", &message)], 10)).await;
    assert!(again.unwrap().batch_item_failures.is_empty());
    let still = TaskStore::get(&d.tasks, "acme", &task.task_id).await.unwrap().unwrap();
    assert_eq!(still.finished_at, failed.finished_at);
}

#[tokio::test]
async fn a_dead_lettered_prompt_whose_reply_was_stored_completes_with_that_reply() {
    // GIVEN a prompt whose delivery stored the reply and died before finishing the task
    let d = deps();
    let now = chrono::Utc::now();
    let (context, _) = d.create_context(&operator(), &json!({}), now).await.unwrap();
    let task = d
        .add_prompt(&operator(), &context.context_id, &json!({"prompt": "p"}), now)
        .await
        .unwrap();
    let message = json!({"tenant": "acme", "task_id": task.task_id}).to_string();
    let mut metadata = serde_json::Map::new();
    metadata.insert("role".into(), "assistant".into());
    let reply = shared::contexts::model::Node {
        node_id: format!("{}-2", context.context_id),
        seq: 2,
        content: "the stored reply".into(),
        content_type: shared::contexts::model::ContentType::Text,
        metadata,
        created_at: "t".into(),
    };
    shared::contexts::store::ContextStore::put_node(
        &d.contexts,
        "acme",
        &context.context_id,
        &reply,
        context.expires_at,
    )
    .await
    .unwrap();
    // WHEN its message is dead-lettered
    crate::dead_letters::handle(&d, event(vec![record("m", "g", &message)], 10))
        .await
        .unwrap();
    // THEN the task is completed with the reply the context holds, not failed beside it
    let settled = TaskStore::get(&d.tasks, "acme", &task.task_id).await.unwrap().unwrap();
    assert_eq!(
        (settled.status, settled.output.as_deref()),
        (TaskStatus::Completed, Some("the stored reply"))
    );
}

#[tokio::test]
async fn the_worker_fixture_for_a_task_that_does_not_exist_is_dropped_without_a_retry() {
    // GIVEN the SQS batch of `events/task-worker/unknown-task.json` and an empty table
    let d = deps();
    let event = crate::http::test_support::lambda_event("task-worker", "unknown-task");
    // WHEN the worker handles it
    let answer = handle(&d, settings(), &(), event).await.unwrap();
    // THEN no message is handed back for another delivery (`sqs:0` in events/outcomes.txt)
    assert!(answer.batch_item_failures.is_empty());
}

#[tokio::test]
async fn the_dead_letter_fixture_for_a_task_that_does_not_exist_is_settled_without_a_retry() {
    let d = deps();
    let event = crate::http::test_support::lambda_event("task-dead-letters", "unknown-task");
    let answer = crate::dead_letters::handle(&d, event).await.unwrap();
    assert!(answer.batch_item_failures.is_empty());
}
