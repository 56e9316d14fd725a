//! The registry handlers on their `events/` fixtures with the in-memory registry: each answers exactly
//! what `events/outcomes.txt` says the deployed function answers on a fresh stack, and a registered
//! item is then found, listed, rendered and deleted through the same handlers.

use std::time::Duration;

use serde_json::json;
use shared::audit::InMemoryAuditLog;
use shared::connections::memory::InMemoryConnections;
use shared::registered::memory::InMemoryRegistry;

use super::*;
use crate::api::requests::ResourcePath;
use crate::api::test_support::{audit, entries};
use crate::api::{serve, App};
use crate::http::test_support::{body_json, event, event_edited};

type Registry = App<RegistryDeps<InMemoryRegistry>, InMemoryAuditLog>;

fn app() -> Registry {
    let deps = RegistryDeps {
        store: InMemoryRegistry::default(),
        policy: EndpointPolicy {
            timeout: Duration::from_secs(1),
            allow_private: false,
        },
        events: None,
    };
    App::new(deps, audit()).audited()
}

/// Status and error code of a response.
fn answer(response: &lambda_http::Response<lambda_http::Body>) -> (u16, String) {
    let code = body_json(response)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (response.status().as_u16(), code)
}

#[tokio::test]
async fn each_fixture_answers_its_documented_status_and_code() {
    let app = app();
    let answers = [
        answer(
            &serve(
                &app,
                create::<ToolPath, _>,
                event("tools-create", "missing-description"),
            )
            .await,
        ),
        answer(
            &serve(
                &app,
                create::<PromptPath, _>,
                event("prompts-create", "missing-template"),
            )
            .await,
        ),
        answer(
            &serve(
                &app,
                create::<ResourcePath, _>,
                event("resources-create", "missing-content"),
            )
            .await,
        ),
        answer(&serve(&app, get::<ToolPath, _>, event("tools-get", "unknown")).await),
        answer(&serve(&app, get::<PromptPath, _>, event("prompts-get", "unknown")).await),
        answer(&serve(&app, get::<ResourcePath, _>, event("resources-get", "unknown")).await),
        answer(&serve(&app, delete::<ToolPath, _>, event("tools-delete", "unknown")).await),
        answer(&serve(&app, delete::<PromptPath, _>, event("prompts-delete", "unknown")).await),
        answer(&serve(&app, delete::<ResourcePath, _>, event("resources-delete", "unknown")).await),
        answer(&serve(&app, execute, event("tools-execute", "unknown")).await),
        answer(&serve(&app, generate, event("prompts-generate", "unknown")).await),
        answer(&serve(&app, list::<ToolPath, _>, event("tools-list", "operator")).await),
        answer(&serve(&app, list::<PromptPath, _>, event("prompts-list", "operator")).await),
        answer(&serve(&app, list::<ResourcePath, _>, event("resources-list", "operator")).await),
        answer(&serve(&app, replace::<ResourcePath, _>, event("resources-replace", "unknown")).await),
        answer(&serve(&subscriptions(), subscribe, event("resources-subscribe", "unknown")).await),
    ];
    let expected = [
        (400, "INVALID_REQUEST"),
        (400, "INVALID_REQUEST"),
        (400, "INVALID_REQUEST"),
        (404, "TOOL_NOT_FOUND"),
        (404, "PROMPT_NOT_FOUND"),
        (404, "RESOURCE_NOT_FOUND"),
        (404, "TOOL_NOT_FOUND"),
        (404, "PROMPT_NOT_FOUND"),
        (404, "RESOURCE_NOT_FOUND"),
        (404, "TOOL_NOT_FOUND"),
        (404, "PROMPT_NOT_FOUND"),
        (200, ""),
        (200, ""),
        (200, ""),
        (404, "RESOURCE_NOT_FOUND"),
        (404, "RESOURCE_NOT_FOUND"),
    ];
    let expected: Vec<(u16, String)> = expected.iter().map(|(s, c)| (*s, (*c).to_owned())).collect();
    assert_eq!(answers.to_vec(), expected);
}

#[tokio::test]
async fn a_prompt_registered_from_the_fixture_is_listed_rendered_deleted_and_audited() {
    let app = app();
    // GIVEN the create fixture with the template it lacked
    let created = event_edited("prompts-create", "missing-template", |e| {
        e["body"] = json!({"name": "summarize", "description": "Summarize a text",
                           "template": "Summarize: {{text}}", "arguments": [{"name": "text", "required": true}]})
        .to_string()
        .into();
    });
    let response = serve(&app, create::<PromptPath, _>, created).await;
    assert_eq!(response.status(), 201, "{}", body_json(&response));
    // THEN it is listed and renders with the fixture's arguments
    let listed = body_json(&serve(&app, list::<PromptPath, _>, event("prompts-list", "operator")).await);
    assert_eq!(listed["prompts"][0]["name"], "summarize");
    let rendered = serve(&app, generate, event("prompts-generate", "unknown")).await;
    assert_eq!(rendered.status(), 200);
    assert_eq!(
        body_json(&rendered)["messages"][0]["content"]["text"],
        "Summarize: hello"
    );
    // AND a delete removes it
    let deleted = serve(&app, delete::<PromptPath, _>, event("prompts-delete", "unknown")).await;
    assert_eq!(deleted.status(), 200);
    let targets: Vec<_> = entries(&app).await.into_iter().map(|e| (e.status, e.target)).collect();
    // Newest first: the delete, the generate (this app audits every route it serves), the create.
    assert_eq!(targets[0], (200, Some("summarize".to_owned())));
    assert_eq!(targets.last().unwrap(), &(201, Some("summarize".to_owned())));
}

type Subscriptions = App<SubscribeDeps<InMemoryRegistry, InMemoryConnections>, InMemoryAuditLog>;

fn subscriptions() -> Subscriptions {
    let deps = SubscribeDeps {
        store: InMemoryRegistry::default(),
        connections: InMemoryConnections::default(),
    };
    App::new(deps, audit()).audited()
}

/// The subject of the fixtures' principal.
const FIXTURE_SUBJECT: &str = "0123456789abcdef";

/// An open connection `id` of `tenant` opened by `subject`.
async fn open(app: &Subscriptions, id: &str, tenant: &str, subject: &str) {
    let connection = shared::connections::Connection {
        connection_id: id.into(),
        tenant: tenant.into(),
        subject: subject.into(),
        role: shared::auth::Role::Viewer,
        method: shared::auth::AuthMethod::ApiKey,
        connected_at_ms: 0,
        expires_at: chrono::Utc::now().timestamp() + 60,
    };
    app.deps.connections.put(&connection).await.unwrap();
}

#[tokio::test]
async fn a_connection_of_the_tenant_is_subscribed_to_its_resource_and_no_other_tenants_connection() {
    // GIVEN the fixture's resource of tenant `local`, its connection, and another tenant's connection
    let app = subscriptions();
    let doc = json!({"uri": "docs://readme", "name": "readme", "content": "v1"});
    app.deps
        .store
        .put("local", Kind::Resource, "docs://readme", &doc)
        .await
        .unwrap();
    open(&app, "JZ8g9cOFvHcCIhw=", "local", FIXTURE_SUBJECT).await;
    open(&app, "theirs", "globex", FIXTURE_SUBJECT).await;
    open(&app, "colleagues", "local", "fedcba9876543210").await;
    // WHEN the fixture subscribes its connection, the other tenant's, a colleague's, and none
    let ours = serve(&app, subscribe, event("resources-subscribe", "unknown")).await;
    let naming = |id: &str| {
        event_edited("resources-subscribe", "unknown", |e| {
            e["body"] = json!({"connection_id": id}).to_string().into();
        })
    };
    let theirs = serve(&app, subscribe, naming("theirs")).await;
    let colleagues = serve(&app, subscribe, naming("colleagues")).await;
    let empty = event_edited("resources-subscribe", "unknown", |e| e["body"] = "{}".into());
    let empty = serve(&app, subscribe, empty).await;
    // THEN only the tenant's own connection is subscribed
    assert_eq!(ours.status(), 200, "{}", body_json(&ours));
    assert_eq!(body_json(&ours)["subscribed"], "resource:docs://readme");
    assert_eq!(answer(&theirs), (404, "CONNECTION_NOT_FOUND".to_owned()));
    assert_eq!(answer(&colleagues), (404, "CONNECTION_NOT_FOUND".to_owned()));
    assert_eq!(answer(&empty), (400, "INVALID_REQUEST".to_owned()));
    let subscribers = app
        .deps
        .connections
        .subscribers("local", "resource:docs://readme")
        .await
        .unwrap();
    assert_eq!(subscribers, ["JZ8g9cOFvHcCIhw="]);
    assert!(app
        .deps
        .connections
        .subscribers("globex", "resource:docs://readme")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_connection_holding_its_most_topics_gets_no_more() {
    let app = subscriptions();
    let doc = json!({"uri": "docs://readme", "name": "readme", "content": "v1"});
    app.deps
        .store
        .put("local", Kind::Resource, "docs://readme", &doc)
        .await
        .unwrap();
    open(&app, "JZ8g9cOFvHcCIhw=", "local", FIXTURE_SUBJECT).await;
    for n in 0..shared::connections::MAX_TOPICS_PER_CONNECTION {
        let topic = format!("task:t{n}");
        let outcome = app
            .deps
            .connections
            .subscribe("local", &topic, "JZ8g9cOFvHcCIhw=", i64::MAX);
        assert_eq!(
            outcome.await.unwrap(),
            shared::connections::store::Subscription::Subscribed
        );
    }
    let full = serve(&app, subscribe, event("resources-subscribe", "unknown")).await;
    assert_eq!(answer(&full), (409, "TOO_MANY_SUBSCRIPTIONS".to_owned()));
}
