//! The completion handlers on their `events/` fixtures, with in-memory stores and the local provider.

use shared::audit::InMemoryAuditLog;
use shared::conversation::memory::InMemory;
use shared::integrations::memory::InMemoryIntegrations;

use super::*;
use crate::api::test_support::audit;
use crate::api::{serve, App};
use crate::http::test_support::{body_json, event, event_edited};

type Completions = App<CompletionDeps<Deps<InMemory, InMemory, InMemory>, InMemoryIntegrations>, InMemoryAuditLog>;

fn conversation() -> Completions {
    let deps = CompletionDeps {
        conversation: Deps::in_memory().unwrap(),
        integrations: InMemoryIntegrations::default(),
    };
    App::new(deps, audit()).audited()
}

#[tokio::test]
async fn each_fixture_answers_its_documented_status_and_a_made_completion_reads_back() {
    let app = conversation();
    let made = serve(&app, create, event("completions-create", "messages")).await;
    let refused = serve(&app, create, event("completions-create", "no-prompt")).await;
    let unknown = serve(&app, get, event("completions-get", "unknown")).await;
    let not_cancelled = serve(&app, cancel, event("completions-cancel", "unknown")).await;
    assert_eq!(
        [
            made.status(),
            refused.status(),
            unknown.status(),
            not_cancelled.status()
        ]
        .map(|s| s.as_u16()),
        [202, 400, 404, 404]
    );
    assert_eq!(body_json(&unknown)["error"]["code"], "COMPLETION_NOT_FOUND");
    let id = body_json(&made)["completion_id"].as_str().unwrap().to_owned();
    let at = |function: &str| {
        event_edited(function, "unknown", |e| {
            e["rawPath"] = format!("/api/v1/completions/{id}").into();
            e["pathParameters"]["completionID"] = id.clone().into();
        })
    };
    let read = body_json(&serve(&app, get, at("completions-get")).await);
    assert_eq!(
        (read["status"].as_str(), read["model_id"].as_str()),
        (Some("pending"), Some("local-echo"))
    );
    let cancelled = serve(&app, cancel, at("completions-cancel")).await;
    assert_eq!(body_json(&cancelled)["status"], "cancelled");
    let again = serve(&app, cancel, at("completions-cancel")).await;
    assert_eq!(again.status(), 409);
}
