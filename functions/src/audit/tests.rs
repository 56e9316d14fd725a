//! `GET /api/v1/audit` on its fixture with the in-memory log: the tenant's entries, newest first, and
//! the `400`s of a bad page size or cursor.

use super::*;
use crate::api::test_support::audit;
use crate::api::{serve, App};
use crate::http::test_support::{body_json, event, event_edited};

fn with_query(limit: &str, cursor: Option<&str>) -> Request {
    event_edited("audit-list", "admin", |e| {
        let mut query = serde_json::json!({"limit": limit});
        let mut raw = format!("limit={limit}");
        if let Some(c) = cursor {
            query["cursor"] = c.into();
            raw.push_str(&format!("&cursor={c}"));
        }
        e["queryStringParameters"] = query;
        e["rawQueryString"] = raw.into();
    })
}

#[tokio::test]
async fn the_fixture_lists_what_an_audited_route_recorded_for_its_tenant() {
    // GIVEN a cancel fixture answered by an audited route, recorded in the same log
    let log = audit();
    let cancel = App::new(shared::conversation::service::Deps::in_memory().unwrap(), audit()).audited();
    let cancelled = serve(&cancel, crate::tasks::cancel, event("tasks-cancel", "operator")).await;
    log.log
        .record(&crate::api::test_support::entries(&cancel).await[0])
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 404);
    // WHEN the admin fixture lists the tenant's audit log
    let app = App::new(log.log, audit());
    let response = serve(&app, list, event("audit-list", "admin")).await;
    // THEN it is the one failed cancel
    assert_eq!(response.status(), 200);
    let body = body_json(&response);
    assert_eq!(body["entries"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["entries"][0]["action"], "POST /api/v1/mcp/tasks/{taskID}/cancel");
    assert_eq!(body["entries"][0]["outcome"], "failed");
    assert_eq!(body["next_cursor"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_bad_limit_or_cursor_is_a_400_naming_it() {
    let app = App::new(shared::audit::InMemoryAuditLog::default(), audit());
    let limit = serve(&app, list, with_query("0", None)).await;
    let cursor = serve(&app, list, with_query("5", Some("not-a-cursor"))).await;
    let codes: Vec<_> = [limit, cursor]
        .iter()
        .map(|r| (r.status().as_u16(), body_json(r)["error"]["code"].clone()))
        .collect();
    assert_eq!(codes, [(400, "INVALID_LIMIT".into()), (400, "INVALID_CURSOR".into())]);
}
