//! Task listings by each filter and by several, read from DynamoDB Local's indexes, and paged.

use serde_json::{json, Value};

use crate::auth_matrix::{bearer, jwt, secret};
use crate::conversation::{get, post};
use crate::helpers::{fresh_tenant, Credential};

/// The ids of a task page, in order.
fn task_ids(page: &Value) -> Vec<&String> {
    page["tasks"]
        .as_array()
        .unwrap_or_else(|| panic!("no tasks in {page}"))
        .iter()
        .map(|t| match &t["task_id"] {
            Value::String(id) => id,
            other => panic!("a task without an id: {other}"),
        })
        .collect()
}

/// `GET /api/v1/mcp/tasks?<query>`, which must answer 200.
async fn listed(caller: &Credential, query: &str) -> Value {
    let (status, page) = get(caller, &format!("/api/v1/mcp/tasks?{query}")).await;
    assert_eq!(status, 200, "{query}: {page}");
    page
}

/// The id of the task a `201` answer names.
async fn created_task(caller: &Credential, path: &str, body: &Value) -> (Value, String) {
    let (status, created) = post(caller, path, body).await;
    assert_eq!(status, 201, "{created}");
    let task = created["task_id"].as_str().unwrap().to_owned();
    (created, task)
}

/// Four completed tasks of a fresh tenant, oldest first: context A of user u1 created (t1), context
/// B of user u2 created (t2), two nodes added to A (t3, t4). Returns the caller, A, B and the tasks.
async fn four_tasks() -> (Credential, String, String, [String; 4]) {
    let caller = bearer(&jwt(&fresh_tenant("tasklist"), "operator", &json!({}), &secret()));
    let contexts = "/api/v1/mcp/contexts";
    let (a, t1) = created_task(&caller, contexts, &json!({"model_id": "local-echo", "user_id": "u1"})).await;
    let (b, t2) = created_task(&caller, contexts, &json!({"model_id": "local-echo", "user_id": "u2"})).await;
    let a = a["context_id"].as_str().unwrap().to_owned();
    let nodes = format!("{contexts}/{a}/nodes");
    let (_, t3) = created_task(&caller, &nodes, &json!({"content": "one"})).await;
    let (_, t4) = created_task(&caller, &nodes, &json!({"content": "two"})).await;
    let b = b["context_id"].as_str().unwrap().to_owned();
    (caller, a, b, [t1, t2, t3, t4])
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn each_task_filter_alone_and_several_together_list_exactly_their_tasks_newest_first() {
    // GIVEN four tasks of two contexts and two users
    let (caller, a, b, [t1, t2, t3, t4]) = four_tasks().await;
    // WHEN tasks are listed by each filter, then by three at once
    let of_a = listed(&caller, &format!("context_id={a}")).await;
    let of_b = listed(&caller, &format!("context_id={b}")).await;
    let of_u1 = listed(&caller, "user_id=u1").await;
    let nodes_added = listed(&caller, "type=mcp.add_node").await;
    let completed = listed(&caller, "status=completed").await;
    let pending = listed(&caller, "status=pending").await;
    let three = listed(
        &caller,
        &format!("context_id={a}&type=mcp.create_context&status=completed"),
    )
    .await;
    // THEN each holds exactly its tasks, newest first, each with the expiry its retention gives it
    assert_eq!(task_ids(&of_a), [&t4, &t3, &t1]);
    assert_eq!(task_ids(&of_b), [&t2]);
    assert_eq!(task_ids(&of_u1), [&t1]);
    assert_eq!(task_ids(&nodes_added), [&t4, &t3]);
    assert_eq!(task_ids(&completed), [&t4, &t3, &t2, &t1]);
    assert!(task_ids(&pending).is_empty(), "{pending}");
    assert_eq!(task_ids(&three), [&t1]);
    assert!(of_a["tasks"][0]["expires_at"].as_i64().is_some(), "{of_a}");
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_filtered_listing_pages_with_its_cursor_and_a_filter_no_task_can_match_is_a_400() {
    // GIVEN three tasks of context A
    let (caller, a, _, [t1, _, t3, t4]) = four_tasks().await;
    // WHEN they are listed two to a page
    let first = listed(&caller, &format!("context_id={a}&limit=2")).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = listed(&caller, &format!("context_id={a}&limit=2&cursor={cursor}")).await;
    // THEN the second page continues the first and ends the listing
    assert_eq!((task_ids(&first), task_ids(&rest)), (vec![&t4, &t3], vec![&t1]));
    assert_eq!(rest["next_cursor"], Value::Null, "{rest}");
    // AND a context id of another format is refused, naming the filter
    let (status, bad) = get(&caller, "/api/v1/mcp/tasks?context_id=nope").await;
    assert_eq!(
        (status, bad["error"]["details"]["field"].as_str()),
        (400, Some("context_id"))
    );
}
