//! The adapter itself, with handlers written for the test: what runs before a handler, what its
//! errors become, and what the audit log keeps.

use shared::audit::{InMemoryAuditLog, Outcome};

use super::requests::{self, Id, TaskPath};
use super::test_support::{audit, entries};
use super::*;
use crate::http::test_support::{body_json, event, event_edited, event_without_authorizer};

fn app(audited: bool) -> App<(), InMemoryAuditLog> {
    let app = App::new((), audit());
    if audited {
        app.audited()
    } else {
        app
    }
}

async fn echo(_: &(), req: Authorized<Id<TaskPath>>) -> Result<Reply, ApiError> {
    Ok(Reply::ok(
        &serde_json::json!({"id": req.request.id, "tenant": req.principal.tenant.to_string()}),
    ))
}

async fn unreachable(_: &(), _: Authorized<Id<TaskPath>>) -> Result<Reply, ApiError> {
    panic!("the handler ran on a request the adapter should have refused")
}

async fn broken(_: &(), _: Authorized<Id<TaskPath>>) -> Result<Reply, ApiError> {
    Err(ApiError::internal_because("the table is gone"))
}

async fn creates(_: &(), _: Authorized<Id<TaskPath>>) -> Result<Reply, ApiError> {
    Ok(Reply::new(201, &serde_json::json!({})).about("made-1"))
}

#[tokio::test]
async fn the_handler_gets_the_checked_path_id_and_the_callers_tenant() {
    let response = serve(&app(false), echo, event("tasks-cancel", "operator")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        body_json(&response),
        serde_json::json!({"id": "task_0000000000000000000000000000", "tenant": "local"})
    );
    assert_eq!(response.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn a_refused_principal_or_a_malformed_id_never_reaches_the_handler() {
    let app = app(true);
    // Each with its own request id, so their audit entries cannot share a sort key.
    let numbered = |case: &str, n: u8| {
        event_edited("tasks-cancel", case, |e| {
            e["requestContext"]["requestId"] = format!("req-{n}").into()
        })
    };
    let unauthenticated = serve(&app, unreachable, event_without_authorizer("tasks-cancel", "operator")).await;
    let forbidden = serve(&app, unreachable, numbered("viewer-forbidden", 1)).await;
    let limited = serve(&app, unreachable, numbered("rate-limited", 2)).await;
    let malformed = serve(&app, unreachable, numbered("malformed-id", 3)).await;
    let statuses = [unauthenticated, forbidden, limited, malformed].map(|r| r.status().as_u16());
    assert_eq!(statuses, [401, 403, 429, 404]);
    // The 401 has no tenant to record under; the denials name the task they aimed at, the malformed
    // id nothing (newest first).
    let mut seen: Vec<_> = entries(&app).await.into_iter().map(|e| (e.status, e.target)).collect();
    seen.sort();
    let task = Some("task_0000000000000000000000000000".to_owned());
    assert_eq!(seen, [(403, task.clone()), (404, None), (429, task)]);
}

#[tokio::test]
async fn an_internal_error_is_a_bare_500_with_the_request_id_and_audited_with_its_target() {
    let app = app(true);
    let response = serve(&app, broken, event("tasks-cancel", "operator")).await;
    assert_eq!(response.status(), 500);
    let body = body_json(&response);
    assert_eq!(body["error"]["code"], "INTERNAL_ERROR");
    assert!(!body.to_string().contains("table is gone"), "{body}");
    assert_eq!(body["request_id"], "JZ7gDdddIAMEgdd=");
    let seen: Vec<_> = entries(&app).await.into_iter().map(|e| (e.outcome, e.target)).collect();
    assert_eq!(
        seen,
        [(Outcome::Failed, Some("task_0000000000000000000000000000".to_owned()))]
    );
}

#[tokio::test]
async fn what_a_reply_names_is_the_audit_target_and_a_route_not_audited_records_nothing() {
    let audited = app(true);
    let response = serve(&audited, creates, event("tasks-cancel", "operator")).await;
    assert_eq!(response.status(), 201);
    let targets: Vec<_> = entries(&audited).await.into_iter().map(|e| e.target).collect();
    assert_eq!(targets, [Some("made-1".to_owned())]);
    let quiet = app(false);
    serve(&quiet, creates, event("tasks-cancel", "operator")).await;
    serve(&quiet, broken, event("tasks-cancel", "operator")).await;
    assert!(entries(&quiet).await.is_empty());
}

#[tokio::test]
async fn a_request_id_comes_from_api_gateway_when_it_gives_one() {
    let req = event_edited("tasks-cancel", "malformed-id", |e| {
        e["requestContext"]["requestId"] = "abc-123".into();
    });
    let response = serve(&app(false), unreachable, req).await;
    assert_eq!(body_json(&response)["request_id"], "abc-123");
}

async fn unserialisable(_: &(), _: Authorized<Id<TaskPath>>) -> Result<Reply, ApiError> {
    // JSON object keys must be strings: a map keyed by tuples cannot be written.
    let body = std::collections::BTreeMap::from([((1, 2), 3)]);
    Ok(Reply::ok(&body))
}

#[tokio::test]
async fn a_reply_that_cannot_be_serialised_is_a_500_not_a_200_with_nothing() {
    let response = serve(&app(false), unserialisable, event("tasks-cancel", "operator")).await;
    assert_eq!(response.status(), 500);
    assert_eq!(body_json(&response)["error"]["code"], "INTERNAL_ERROR");
}

async fn with_body(_: &(), _: Authorized<requests::IdWithBody<TaskPath>>) -> Result<Reply, ApiError> {
    panic!("the handler ran on a body the adapter should have refused")
}

#[tokio::test]
async fn a_bad_body_beside_a_good_path_id_is_a_400_audited_with_that_id_as_its_target() {
    let app = app(true);
    let req = event_edited("tasks-cancel", "operator", |e| {
        e["body"] = "{not json".into();
        e["headers"]["content-type"] = "application/json; charset=utf-8".into();
    });
    let response = serve(&app, with_body, req).await;
    assert_eq!(response.status(), 400);
    assert_eq!(body_json(&response)["error"]["code"], "INVALID_BODY");
    let targets: Vec<_> = entries(&app).await.into_iter().map(|e| e.target).collect();
    assert_eq!(targets, [Some("task_0000000000000000000000000000".to_owned())]);
}

#[tokio::test]
async fn a_json_body_not_sent_as_json_is_a_415_and_the_handler_never_runs() {
    for media in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonp"),
    ] {
        let req = event_edited("tasks-cancel", "operator", |e| {
            e["body"] = r#"{"output": 1}"#.into();
            if let Some(m) = media {
                e["headers"]["content-type"] = m.into();
            }
        });
        let response = serve(&app(false), with_body, req).await;
        assert_eq!(response.status(), 415, "{media:?}");
        assert_eq!(body_json(&response)["error"]["code"], "UNSUPPORTED_MEDIA_TYPE");
    }
}

/// Every `SCREAMING_SNAKE` code on a line (or the line after one) that builds an HTTP error, in the
/// source of `shared` and `functions` outside tests; the WebSocket protocol's own codes
/// (`shared/src/connections`) are documented with it instead.
fn error_codes_in_source() -> std::collections::BTreeMap<String, String> {
    fn visit(dir: &std::path::Path, found: &mut std::collections::BTreeMap<String, String>) {
        let builds = [
            "ApiError::new(",
            "Self::new(",
            "bad_request(",
            "not_found(",
            "rejected(",
            "over(",
            "code: \"",
            "=> \"",
        ];
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "tests" | "bin" | "connections") {
                    visit(&path, found);
                }
                continue;
            }
            if !name.ends_with(".rs") || name == "tests.rs" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                if !builds.iter().any(|b| line.contains(b)) {
                    continue;
                }
                let next = lines.get(i + 1).copied().unwrap_or_default();
                for part in [*line, next].iter().flat_map(|l| l.split('"').skip(1).step_by(2)) {
                    let code = part.len() > 3
                        && part.contains('_')
                        && part.starts_with(|c: char| c.is_ascii_uppercase())
                        && part
                            .chars()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                    if code {
                        found.insert(part.to_owned(), path.display().to_string());
                    }
                }
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = std::collections::BTreeMap::new();
    visit(&root.join("shared/src"), &mut found);
    visit(&root.join("functions/src"), &mut found);
    found
}

#[test]
fn every_error_code_the_functions_answer_is_in_the_readme() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let table = readme
        .split("\n## Errors\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the README has an Errors section");
    let codes = error_codes_in_source();
    // The scan sees the codes it must: one of each kind of construction.
    for known in [
        "INVALID_TOKEN",
        "TASK_ATTEMPT_OVER",
        "DEPENDENCY_UNAVAILABLE",
        "TOOL_NOT_FOUND",
        "INVALID_CURSOR",
    ] {
        assert!(codes.contains_key(known), "the scan missed {known}: {codes:?}");
    }
    let missing: Vec<String> = codes
        .iter()
        .filter(|(code, _)| {
            !table
                .lines()
                .any(|l| l.starts_with('|') && l.contains(&format!("`{code}`")))
        })
        .map(|(code, file)| format!("{code} ({file})"))
        .collect();
    assert!(
        missing.is_empty(),
        "codes missing from the README's error table: {missing:?}"
    );
}
