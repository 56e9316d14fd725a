//! The integration handlers on their `events/` fixtures with the in-memory store.

use shared::audit::InMemoryAuditLog;
use shared::conversation::memory::InMemory;
use shared::integrations::memory::InMemoryIntegrations;

use super::*;
use crate::api::test_support::{audit, entries};
use crate::api::{serve, App};
use crate::http::test_support::{body_json, event, event_edited};

type Integrations = App<IntegrationDeps<InMemoryIntegrations, InMemory>, InMemoryAuditLog>;

fn app() -> Integrations {
    let deps = IntegrationDeps {
        store: InMemoryIntegrations::default(),
        catalog: ModelCatalog::builtin().unwrap(),
        tasks: InMemory::default(),
    };
    App::new(deps, audit()).audited()
}

/// The fixture `function/case` aimed at integration `id`, with `If-Match: if_match` when given.
fn at(function: &str, case: &str, id: &str, if_match: Option<&str>) -> lambda_http::Request {
    event_edited(function, case, |e| {
        e["rawPath"] = format!("/api/v1/integrations/{id}").into();
        e["pathParameters"]["integrationID"] = id.into();
        match if_match {
            Some(v) => e["headers"]["if-match"] = v.into(),
            None => {
                e["headers"].as_object_mut().unwrap().remove("if-match");
            }
        }
    })
}

#[tokio::test]
async fn each_fixture_answers_its_documented_status() {
    let app = app();
    let statuses = [
        serve(&app, create, event("integrations-create", "support-bot")).await,
        serve(&app, create, event("integrations-create", "raw-key")).await,
        serve(&app, list, event("integrations-list", "operator")).await,
        serve(&app, get, event("integrations-get", "unknown")).await,
        serve(&app, replace, event("integrations-replace", "unknown")).await,
        serve(&app, replace, event("integrations-replace", "no-precondition")).await,
        serve(&app, delete, event("integrations-delete", "unknown")).await,
    ]
    .map(|r| r.status().as_u16());
    assert_eq!(statuses, [201, 400, 200, 404, 404, 428, 404]);
}

#[tokio::test]
async fn a_raw_key_is_refused_and_appears_in_neither_the_answer_nor_the_audit() {
    let app = app();
    let refused = serve(&app, create, event("integrations-create", "raw-key")).await;
    let text = String::from_utf8(refused.body().to_vec()).unwrap();
    assert!(
        text.contains("RAW_CREDENTIAL") && text.contains("model.api_key"),
        "{text}"
    );
    assert!(!text.contains("sk-not-a-real-key"), "{text}");
    let audited = serde_json::to_string(&entries(&app).await).unwrap();
    assert!(!audited.contains("sk-not-a-real-key"), "{audited}");
}

#[tokio::test]
async fn the_etag_guards_a_replace_and_a_delete() {
    let app = app();
    let created = serve(&app, create, event("integrations-create", "support-bot")).await;
    assert_eq!(created.headers()["etag"], "\"1\"");
    let body = body_json(&created);
    let id = body["integration_id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.headers()["location"],
        format!("/api/v1/integrations/{id}").as_str()
    );

    let got = serve(&app, get, at("integrations-get", "unknown", &id, None)).await;
    assert_eq!(
        (got.status().as_u16(), &got.headers()["etag"]),
        (200, &"\"1\"".parse().unwrap())
    );

    let replaced = serve(&app, replace, at("integrations-replace", "unknown", &id, Some("\"1\""))).await;
    assert_eq!(replaced.status(), 200);
    assert_eq!(replaced.headers()["etag"], "\"2\"");
    let stale = serve(&app, replace, at("integrations-replace", "unknown", &id, Some("\"1\""))).await;
    assert_eq!(stale.status(), 412);
    assert_eq!(body_json(&stale)["error"]["details"]["current_version"], 2);
    let bad = serve(
        &app,
        replace,
        at("integrations-replace", "unknown", &id, Some("W/\"2\"")),
    )
    .await;
    assert_eq!(bad.status(), 400);

    let stale = serve(&app, delete, at("integrations-delete", "unknown", &id, Some("\"1\""))).await;
    assert_eq!(stale.status(), 412);
    let gone = serve(&app, delete, at("integrations-delete", "unknown", &id, Some("\"2\""))).await;
    assert_eq!(gone.status(), 200);
    let again = serve(&app, get, at("integrations-get", "unknown", &id, None)).await;
    assert_eq!(again.status(), 404);
}
