//! Contexts and prompts end to end: the gateway, the functions, DynamoDB Local, the task queues on
//! moto, the gateway's SQS poller and the task worker, with the `local` provider.

use std::time::Duration;

use serde_json::{json, Value};

use crate::auth_matrix::{bearer, jwt, secret};
use crate::helpers::{fresh_tenant, gateway_url, http, send_json, Credential};

pub(crate) async fn post(caller: &Credential, path: &str, body: &Value) -> (u16, Value) {
    send_json(
        http()
            .post(format!("{}{path}", gateway_url()))
            .header(caller.0, &caller.1)
            .json(body),
    )
    .await
}

pub(crate) async fn get(caller: &Credential, path: &str) -> (u16, Value) {
    send_json(
        http()
            .get(format!("{}{path}", gateway_url()))
            .header(caller.0, &caller.1),
    )
    .await
}

/// Polls a task until it leaves pending/running (at most 30 s).
/// The roles of a context's nodes, in order.
pub(crate) async fn roles(caller: &Credential, context_id: &str) -> Vec<String> {
    let (status, context) = get(caller, &format!("/api/v1/mcp/contexts/{context_id}")).await;
    assert_eq!(status, 200, "{context}");
    let nodes = context["nodes"].as_array().unwrap().iter();
    nodes
        .map(|n| n["metadata"]["role"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) async fn finished(caller: &Credential, task_id: &str) -> Value {
    finished_within(caller, task_id, 30).await
}

/// Polls a task until it leaves pending/running (at most `secs`).
pub(crate) async fn finished_within(caller: &Credential, task_id: &str, secs: u64) -> Value {
    for _ in 0..secs * 5 {
        let (status, task) = get(caller, &format!("/api/v1/mcp/tasks/{task_id}")).await;
        assert_eq!(status, 200, "{task}");
        if task["status"] != "pending" && task["status"] != "running" {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("task {task_id} did not finish within {secs} s");
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_prompt_is_completed_by_the_worker_and_the_context_holds_system_user_and_assistant_in_order() {
    // GIVEN an operator with a context that has a system node
    let caller = bearer(&jwt(&fresh_tenant("conv"), "operator", &json!({}), &secret()));
    let create = json!({"model_id": "local-echo", "nodes": [{"content": "You are a helpful assistant.",
        "content_type": "text", "metadata": {"role": "system"}}], "metadata": {"session": "user123"},
        "return_context": true, "user_id": "user123", "priority": "medium"});
    let (status, context) = post(&caller, "/api/v1/mcp/contexts", &create).await;
    assert_eq!(status, 201, "{context}");
    let id = context["context_id"].as_str().unwrap();
    // WHEN a prompt is sent and its task is polled
    let prompt = json!({"prompt": "What is the capital of France?", "metadata": {"conversation_id": "12345"},
        "stream": false, "user_id": "user123", "priority": "high"});
    let (status, accepted) = post(&caller, &format!("/api/v1/mcp/contexts/{id}/prompt"), &prompt).await;
    assert_eq!(
        (status, accepted["status"].as_str()),
        (202, Some("pending")),
        "{accepted}"
    );
    let task = finished(&caller, accepted["task_id"].as_str().unwrap()).await;
    // THEN the task completed with the local provider, and the context reads system, user, assistant
    assert_eq!(
        (task["status"].as_str(), task["provider"].as_str()),
        (Some("completed"), Some("local")),
        "{task}"
    );
    assert_eq!(
        (task["type"].as_str(), task["attempts"].as_u64()),
        (Some("mcp.add_prompt"), Some(1))
    );
    assert_eq!(roles(&caller, id).await, ["system", "user", "assistant"]);
    let (_, context) = get(&caller, &format!("/api/v1/mcp/contexts/{id}")).await;
    assert_eq!(context["nodes"][2]["content"], task["output"]);
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn bad_input_is_a_400_naming_the_field_and_an_unknown_model_lists_the_available_ones() {
    let caller = bearer(&jwt(&fresh_tenant("bad"), "operator", &json!({}), &secret()));
    let (status, body) = post(&caller, "/api/v1/mcp/contexts", &json!({"nodes": [{"content": 1}]})).await;
    assert_eq!(
        (status, body["error"]["details"]["field"].as_str()),
        (400, Some("nodes[0].content")),
        "{body}"
    );
    let (status, body) = post(&caller, "/api/v1/mcp/contexts", &json!({"model_id": "gpt-9"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("MODEL_NOT_FOUND")),
        "{body}"
    );
    assert!(body["error"]["details"]["available"]
        .as_array()
        .unwrap()
        .contains(&json!("local-echo")));
    let (status, body) = post(
        &caller,
        "/api/v1/mcp/contexts/ctx_nothing/prompt",
        &json!({"prompt": "hi"}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("CONTEXT_NOT_FOUND")),
        "{body}"
    );
}

/// Creates `count` contexts from `body`, one after another; their ids in creation order.
pub(crate) async fn create_contexts(caller: &Credential, count: usize, body: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..count {
        let (status, created) = post(caller, "/api/v1/mcp/contexts", body).await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["context_id"].as_str().unwrap().to_owned());
    }
    ids
}

/// Sends five prompts to each context, all at once, across the priority bands; their task ids.
async fn send_five_prompts_each_at_once(caller: &Credential, ids: &[String]) -> Vec<String> {
    let sends = ids
        .iter()
        .flat_map(|id| (0..5).map(move |i| (id.clone(), i)))
        .map(|(id, i)| {
            let caller = caller.clone();
            async move {
                let priority = [2, 5, 9][i % 3];
                let body = json!({"prompt": format!("prompt number {i}"), "priority": priority});
                let (status, accepted) = post(&caller, &format!("/api/v1/mcp/contexts/{id}/prompt"), &body).await;
                assert_eq!(status, 202, "{accepted}");
                accepted["task_id"].as_str().unwrap().to_owned()
            }
        });
    futures::future::join_all(sends).await
}

/// The context holds `count` distinct prompts, each followed by the reply that answers it.
pub(crate) fn assert_prompts_each_answered_once(context: &Value, count: usize) {
    let nodes = context["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2 * count, "{context}");
    for pair in nodes.chunks(2) {
        assert_eq!(
            (
                pair[0]["metadata"]["role"].as_str(),
                pair[1]["metadata"]["role"].as_str()
            ),
            (Some("user"), Some("assistant"))
        );
        assert!(
            pair[1]["content"]
                .as_str()
                .unwrap()
                .ends_with(pair[0]["content"].as_str().unwrap()),
            "{pair:?}"
        );
    }
    let prompts: Vec<&str> = nodes
        .iter()
        .step_by(2)
        .map(|n| n["content"].as_str().unwrap())
        .collect();
    let mut sorted = prompts.clone();
    sorted.sort_unstable();
    assert_eq!(prompts.len(), count);
    assert_eq!(
        sorted.len(),
        prompts.iter().collect::<std::collections::BTreeSet<_>>().len(),
        "a prompt was duplicated"
    );
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn prompts_sent_together_are_each_answered_once_in_prompt_order() {
    // GIVEN two contexts
    let caller = bearer(&jwt(&fresh_tenant("order"), "operator", &json!({}), &secret()));
    let ids = create_contexts(&caller, 2, &json!({"model_id": "local-echo"})).await;
    // WHEN five prompts go to each, all at once, across the priority bands
    let tasks = send_five_prompts_each_at_once(&caller, &ids).await;
    for task in &tasks {
        assert_eq!(finished(&caller, task).await["status"], "completed");
    }
    // THEN each context alternates user and assistant, every reply answering the prompt before it
    for id in &ids {
        let (_, context) = get(&caller, &format!("/api/v1/mcp/contexts/{id}")).await;
        assert_prompts_each_answered_once(&context, 5);
    }
}

/// The ids of a page of contexts, in listed order.
fn listed_ids(page: &Value) -> Vec<&str> {
    page["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["context_id"].as_str().unwrap())
        .collect()
}

/// Deletes the context, expecting a 200.
pub(crate) async fn delete_context(caller: &Credential, id: &str) {
    let deleted = send_json(
        http()
            .delete(format!("{}/api/v1/mcp/contexts/{id}", gateway_url()))
            .header(caller.0, &caller.1),
    )
    .await;
    assert_eq!(deleted.0, 200, "{}", deleted.1);
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn contexts_and_tasks_are_listed_newest_first_and_a_deleted_context_leaves_nothing() {
    // GIVEN three contexts, made one after another
    let caller = bearer(&jwt(&fresh_tenant("list"), "operator", &json!({}), &secret()));
    let ids = create_contexts(&caller, 3, &json!({"nodes": [{"content": "x"}]})).await;
    // WHEN they are listed two to a page, and the oldest one's create task is looked up
    let (status, page) = get(&caller, "/api/v1/mcp/contexts?limit=2").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(listed_ids(&page), [ids[2].as_str(), ids[1].as_str()]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = get(&caller, &format!("/api/v1/mcp/contexts?limit=2&cursor={cursor}")).await;
    let tasks_of_oldest = format!("/api/v1/mcp/tasks?type=mcp.create_context&context_id={}", ids[0]);
    let (_, tasks) = get(&caller, &tasks_of_oldest).await;
    // THEN the pages run newest first, and the task is found
    assert_eq!(rest["contexts"][0]["context_id"], ids[0].as_str());
    assert_eq!(tasks["tasks"].as_array().unwrap().len(), 1, "{tasks}");
    // WHEN the oldest is deleted
    delete_context(&caller, &ids[0]).await;
    // THEN it is gone and no longer listed, and a bad status filter is a 400 naming the field
    let (status, _) = get(&caller, &format!("/api/v1/mcp/contexts/{}", ids[0])).await;
    assert_eq!(status, 404);
    let (_, all) = get(&caller, "/api/v1/mcp/contexts").await;
    assert_eq!(
        all["contexts"].as_array().unwrap().len(),
        2,
        "a deleted context is still listed"
    );
    let (status, bad) = get(&caller, "/api/v1/mcp/tasks?status=done").await;
    assert_eq!(
        (status, bad["error"]["details"]["field"].as_str()),
        (400, Some("status"))
    );
}
