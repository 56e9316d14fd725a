use serde_json::json;

use super::memory::InMemoryLogs;
use super::*;
use crate::tasks::model::Task;

#[test]
fn a_request_event_is_a_denial_for_403_and_429_and_its_level_follows_the_status() {
    let ok = request_event("acme", "r1", "GET /api/v1/tasks/{taskID}", 200, 12, "k1", None);
    assert_eq!((ok.kind, ok.level), (EventKind::Request, Level::Info));
    assert_eq!(ok.message, "GET /api/v1/tasks/{taskID} answered 200 in 12 ms");
    let denied = request_event("acme", "r2", "POST /api/v1/keys", 403, 3, "k1", Some("FORBIDDEN"));
    assert_eq!((denied.kind, denied.level), (EventKind::Denial, Level::Warn));
    assert_eq!(denied.fields["code"], "FORBIDDEN");
    let failed = request_event(
        "acme",
        "r3",
        "GET /api/v1/summary",
        503,
        9,
        "k1",
        Some("DEPENDENCY_UNAVAILABLE"),
    );
    assert_eq!((failed.kind, failed.level), (EventKind::Request, Level::Error));
    assert!(is_event_id(&failed.event_id), "{}", failed.event_id);
}

fn task(status: &str, error_code: Option<&str>) -> Task {
    serde_json::from_value(
        json!({"task_id": "task_1", "tenant": "acme", "type": "mcp.add_prompt", "status": status,
        "priority": 5, "created_at": "2026-12-03T10:00:00.000Z", "attempts": 1, "provider": "openai",
        "error_code": error_code, "error": error_code.map(|_| "the provider said no")}),
    )
    .unwrap()
}

#[test]
fn a_provider_failure_and_a_fallback_are_provider_events() {
    let failed = task_events(&task("failed", Some("PROVIDER_FAILED")), Some("openai"), 1);
    assert_eq!((failed[0].kind, failed[0].level), (EventKind::Provider, Level::Error));
    assert!(
        failed[0].message.ends_with("PROVIDER_FAILED: the provider said no"),
        "{}",
        failed[0].message
    );
    let fell_back = task_events(&task("completed", None), Some("anthropic"), 1);
    assert_eq!(fell_back.len(), 2);
    assert_eq!((fell_back[0].kind, fell_back[0].level), (EventKind::Task, Level::Info));
    assert_eq!(
        (fell_back[1].kind, fell_back[1].level),
        (EventKind::Provider, Level::Warn)
    );
    assert_ne!(fell_back[0].event_id, fell_back[1].event_id);
    assert_eq!(task_events(&task("completed", None), Some("openai"), 1).len(), 1);
    let timed_out = task_events(&task("failed", Some("TASK_CANCELLED")), None, 1);
    assert_eq!(timed_out[0].kind, EventKind::Task);
}

#[test]
fn cursors_are_event_ids_only() {
    let id = LogEvent::new("acme", 1_796_000_000_000, "req-1", Level::Info, EventKind::Request, "x").event_id;
    assert!(is_event_id(&id));
    for bad in ["", "abc", "01796000000000-x", "001796000000000-", "001796000000000-a b"] {
        assert!(!is_event_id(bad), "{bad}");
    }
}

#[tokio::test]
async fn pages_are_newest_first_filtered_and_of_the_tenant_only() {
    let store = InMemoryLogs::default();
    let mut events = Vec::new();
    for i in 0..10_i64 {
        let level = if i % 3 == 0 { Level::Error } else { Level::Info };
        events.push(LogEvent::new(
            "acme",
            1_000 + i,
            &format!("r{i}"),
            level,
            EventKind::Request,
            "m",
        ));
    }
    events.push(LogEvent::new(
        "other",
        2_000,
        "x",
        Level::Error,
        EventKind::Request,
        "m",
    ));
    store.put(&events).await.unwrap();
    let filter = Filter {
        level: Some(Level::Warn),
        limit: 2,
        ..Filter::default()
    };
    let first = store.page("acme", &filter).await.unwrap();
    let ids: Vec<i64> = first.events.iter().map(|e| e.at_ms).collect();
    assert_eq!(ids, [1_009, 1_006]);
    let rest = Filter {
        after: first.next_cursor,
        ..filter
    };
    let second = store.page("acme", &rest).await.unwrap();
    assert_eq!(
        second.events.iter().map(|e| e.at_ms).collect::<Vec<_>>(),
        [1_003, 1_000]
    );
    assert!(second.next_cursor.is_none());
}

#[test]
fn a_long_message_is_cut() {
    let e = LogEvent::new("acme", 1, "r", Level::Info, EventKind::Task, &"x".repeat(2_000));
    assert_eq!(e.message.chars().count(), MAX_MESSAGE_CHARS);
}
