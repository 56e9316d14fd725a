//! Paging and filters with in-memory stores.

use chrono::Utc;
use serde_json::json;

use super::*;
use crate::auth::{AuthMethod, Role};
use crate::conversation::memory::InMemory;

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
    let tasks = d.list_tasks(&me, &filter, 10, None).await.unwrap();
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
