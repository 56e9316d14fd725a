//! The cancel handler with in-memory stores and the events in `events/tasks-cancel/`: malformed path
//! ids and the authorizer's denials, and what each leaves in the audit log.

use shared::audit::Outcome;

use super::*;
use crate::api::serve;
use crate::api::test_support::{conversation, entries};
use crate::http::test_support::{body_json, event, event_without_authorizer};

#[tokio::test]
async fn a_malformed_over_long_task_id_is_404_without_echoing_it_and_audited_without_a_target() {
    // GIVEN a cancel whose task id is 600 characters of `x#`
    let app = conversation();
    // WHEN it is handled
    let response = serve(&app, cancel, event("tasks-cancel", "malformed-id")).await;
    // THEN it is the normal not-found answer, which does not repeat the id
    assert_eq!(response.status(), 404);
    let body = body_json(&response);
    assert_eq!(body["error"]["code"], "TASK_NOT_FOUND");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(!message.contains("x#") && message.len() < 120, "{message}");
    // AND the audit entry names no target
    let seen: Vec<_> = entries(&app)
        .await
        .into_iter()
        .map(|e| (e.outcome, e.status, e.target))
        .collect();
    assert_eq!(seen, [(Outcome::Failed, 404, None)]);
}

#[tokio::test]
async fn a_forbidden_cancel_is_403_and_audited_as_denied() {
    let app = conversation();
    let response = serve(&app, cancel, event("tasks-cancel", "viewer-forbidden")).await;
    assert_eq!(response.status(), 403);
    assert_eq!(body_json(&response)["error"]["code"], "FORBIDDEN");
    let seen: Vec<_> = entries(&app)
        .await
        .into_iter()
        .map(|e| (e.outcome, e.status, e.action))
        .collect();
    assert_eq!(
        seen,
        [(
            Outcome::Denied,
            403,
            "POST /api/v1/mcp/tasks/{taskID}/cancel".to_owned()
        )]
    );
}

#[tokio::test]
async fn a_rate_limited_cancel_is_429_with_retry_after_and_audited_as_denied() {
    let app = conversation();
    let response = serve(&app, cancel, event("tasks-cancel", "rate-limited")).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let seen: Vec<_> = entries(&app)
        .await
        .into_iter()
        .map(|e| (e.outcome, e.status, e.subject))
        .collect();
    assert_eq!(seen, [(Outcome::Denied, 429, "0123456789abcdef".to_owned())]);
}

#[tokio::test]
async fn a_cancel_without_credentials_is_401_and_not_audited_for_want_of_a_tenant() {
    let app = conversation();
    let req = event_without_authorizer("tasks-cancel", "operator");
    let response = serve(&app, cancel, req).await;
    assert_eq!(response.status(), 401);
    assert!(entries(&app).await.is_empty());
}

#[tokio::test]
async fn an_unknown_well_formed_task_is_404_naming_it() {
    let app = conversation();
    let response = serve(&app, cancel, event("tasks-cancel", "operator")).await;
    assert_eq!(response.status(), 404);
    let body = body_json(&response);
    assert_eq!(
        (body["error"]["code"].as_str(), body["error"]["message"].as_str()),
        (
            Some("TASK_NOT_FOUND"),
            Some("no task task_0000000000000000000000000000")
        )
    );
}
