//! Paging and filters with in-memory stores.

use chrono::Utc;
use serde_json::json;

use super::*;
use crate::auth::{AuthMethod, Principal, Role};
use crate::conversation::memory::InMemory;
use crate::conversation::service::Deps;
use crate::tasks::listing::{task_filter, TaskFilter};
use crate::tasks::model::Task;
fn deps() -> Deps<InMemory, InMemory, InMemory> {
    Deps::in_memory().unwrap()
}

fn acme_admin() -> Principal {
    Principal {
        tenant: "acme".try_into().unwrap(),
        subject: "s".into(),
        role: Role::Admin,
        method: AuthMethod::ApiKey,
    }
}

#[tokio::test]
async fn contexts_and_tasks_page_newest_first_and_tasks_filter() {
    // GIVEN three contexts of one tenant, created a millisecond apart
    let (d, me) = (deps(), acme_admin());
    let mut ids = Vec::new();
    for i in 0..3 {
        let now = Utc::now() + chrono::Duration::milliseconds(i);
        ids.push(d.create_context(&me, &json!({}), now).await.unwrap().0.context_id);
    }
    // WHEN they are listed two to a page, and their tasks are filtered
    let first = d.list_contexts(&me, 2, None, Utc::now().timestamp()).await.unwrap();
    let (_, after) = paging(None, first.next_cursor.as_deref()).unwrap();
    let second = d
        .list_contexts(&me, 2, after.as_deref(), Utc::now().timestamp())
        .await
        .unwrap();
    let filter = task_filter(Some("completed"), Some("mcp.create_context"), Some(&ids[0]), None).unwrap();
    let tasks = d
        .list_tasks(&me, &filter, 10, None, Utc::now().timestamp())
        .await
        .unwrap();
    // THEN the pages run newest first, the filter finds the one task, and bad parameters name their field
    let got: Vec<&str> = first.items.iter().map(|c| c.context_id.as_str()).collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
    assert_eq!((second.items.len(), second.next_cursor), (1, None));
    assert_eq!(tasks.items.len(), 1);
    assert!(
        matches!(task_filter(Some("done"), None, None, None), Err(ConversationError::Invalid(i)) if i.field == "status")
    );
    assert!(matches!(paging(Some("0"), None), Err(ConversationError::Invalid(i)) if i.field == "limit"));
}

#[test]
fn a_filter_value_no_task_can_have_is_refused_naming_its_field() {
    // GIVEN a context id of another format, and a user id longer than any request may give
    let long_user = "u".repeat(129);
    for (context, user, field) in [
        (Some("ctx_1"), None, "context_id"),
        (None, Some(long_user.as_str()), "user_id"),
    ] {
        // WHEN it is a task filter
        let refused = task_filter(None, None, context, user);
        // THEN it is refused, naming the field
        assert!(
            matches!(refused, Err(ConversationError::Invalid(i)) if i.field == field),
            "{field}"
        );
    }
}

/// Task ids of a page.
fn ids(page: &Page<Task>) -> Vec<&str> {
    page.items.iter().map(|t| t.task_id.as_str()).collect()
}

#[tokio::test]
async fn each_filter_alone_and_filters_together_find_exactly_their_tasks_newest_first() {
    // GIVEN context A of user u1 with two prompts of u1, and context B of u2 with one prompt of u1
    let (d, me, start) = (deps(), acme_admin(), Utc::now());
    let at = |ms: i64| start + chrono::Duration::milliseconds(ms);
    let (a, create_a) = d.create_context(&me, &json!({"user_id": "u1"}), at(0)).await.unwrap();
    let (b, create_b) = d.create_context(&me, &json!({"user_id": "u2"}), at(1)).await.unwrap();
    let mut prompts = Vec::new();
    for (ms, context) in [(2, &a), (3, &a), (4, &b)] {
        let body = json!({"prompt": "hi", "user_id": "u1"});
        prompts.push(
            d.add_prompt(&me, &context.context_id, &body, at(ms))
                .await
                .unwrap()
                .task_id,
        );
    }
    let list = |status, kind, context: Option<&str>, user: Option<&str>| {
        let filter = task_filter(status, kind, context, user).unwrap();
        let d = &d;
        let me = &me;
        async move { d.list_tasks(me, &filter, 100, None, start.timestamp()).await.unwrap() }
    };
    // WHEN tasks are listed by each filter, then by two at once
    let pending = list(Some("pending"), None, None, None).await;
    let creates = list(None, Some("mcp.create_context"), None, None).await;
    let of_a = list(None, None, Some(a.context_id.as_str()), None).await;
    let of_u1 = list(None, None, None, Some("u1")).await;
    let pending_of_b = list(Some("pending"), None, Some(b.context_id.as_str()), None).await;
    // THEN each holds exactly its tasks, newest first
    let p: Vec<&str> = prompts.iter().map(String::as_str).collect();
    assert_eq!(ids(&pending), [p[2], p[1], p[0]]);
    assert_eq!(ids(&creates), [create_b.task_id.as_str(), create_a.task_id.as_str()]);
    assert_eq!(ids(&of_a), [p[1], p[0], create_a.task_id.as_str()]);
    assert_eq!(ids(&of_u1), [p[2], p[1], p[0], create_a.task_id.as_str()]);
    assert_eq!(ids(&pending_of_b), [p[2]]);
}

#[tokio::test]
async fn a_filtered_listing_pages_with_its_cursor_and_a_cursor_must_be_one_we_issued() {
    // GIVEN three contexts of user u1, a millisecond apart
    let (d, me, start) = (deps(), acme_admin(), Utc::now());
    for ms in 0..3 {
        let at = start + chrono::Duration::milliseconds(ms);
        d.create_context(&me, &json!({"user_id": "u1"}), at).await.unwrap();
    }
    let filter = task_filter(None, None, None, Some("u1")).unwrap();
    let now = start.timestamp();
    // WHEN their tasks are listed two to a page
    let first = d.list_tasks(&me, &filter, 2, None, now).await.unwrap();
    let (_, after) = paging(None, first.next_cursor.as_deref()).unwrap();
    let second = d.list_tasks(&me, &filter, 2, after.as_deref(), now).await.unwrap();
    // THEN the second page holds the oldest and ends the listing
    assert_eq!(
        (first.items.len(), second.items.len(), second.next_cursor),
        (2, 1, None)
    );
    assert!(second.items[0].task_id < first.items[1].task_id);
    // AND a cursor that names no task is refused, naming the cursor
    let forged = d.list_tasks(&me, &filter, 2, Some("TASK#x"), now).await;
    assert!(matches!(forged, Err(ConversationError::Invalid(i)) if i.field == "cursor"));
}

#[tokio::test]
async fn a_task_past_its_retention_is_not_listed_though_not_yet_deleted() {
    // GIVEN tasks kept 60 s, one created 30 s after the other
    let (mut d, me, start) = (deps(), acme_admin(), Utc::now());
    d.limits.task_retention_secs = 60;
    let (_, old) = d.create_context(&me, &json!({}), start).await.unwrap();
    let (_, new) = d
        .create_context(&me, &json!({}), start + chrono::Duration::seconds(30))
        .await
        .unwrap();
    // WHEN tasks are listed just after the first one's retention ran out, with and without a filter
    let now = start.timestamp() + 60;
    let all = d.list_tasks(&me, &TaskFilter::default(), 10, None, now).await.unwrap();
    let creates = task_filter(None, Some("mcp.create_context"), None, None).unwrap();
    let filtered = d.list_tasks(&me, &creates, 10, None, now).await.unwrap();
    // THEN only the newer one is there
    assert_eq!(ids(&all), [new.task_id.as_str()]);
    assert_eq!(ids(&filtered), [new.task_id.as_str()]);
    assert_eq!(old.expires_at, Some(start.timestamp() + 60));
}
