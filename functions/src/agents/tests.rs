//! The agent handlers on their `events/` fixtures with in-memory agents and keys: each fixture answers
//! what `events/outcomes.txt` says, and a registered agent heartbeats with its token and is deleted.

use std::sync::Arc;

use shared::agents::memory::InMemoryAgents;
use shared::audit::InMemoryAuditLog;
use shared::keys::InMemoryKeyStore;

use super::*;
use crate::api::test_support::audit;
use crate::api::{serve, App};
use crate::http::test_support::{body_json, event, event_edited};

type Agents = App<AgentDeps<InMemoryAgents, Arc<InMemoryKeyStore>>, InMemoryAuditLog>;

fn app() -> Agents {
    let keys = Arc::new(InMemoryKeyStore::default());
    let deps = AgentDeps {
        agents: InMemoryAgents::with_keys(keys.clone()),
        keys,
        timeouts: AgentTimeouts::default(),
        events: None,
        sockets: None,
    };
    App::new(deps, audit()).audited()
}

#[tokio::test]
async fn each_fixture_answers_its_documented_status() {
    let app = app();
    let statuses = [
        serve(&app, register, event("agents-register", "operator"))
            .await
            .status(),
        serve(&app, list, event("agents-list", "operator")).await.status(),
        serve(&app, get, event("agents-get", "unknown")).await.status(),
        serve(&app, heartbeat, event("agents-heartbeat", "unknown"))
            .await
            .status(),
        serve(&app, delete, event("agents-delete", "unknown")).await.status(),
    ];
    assert_eq!(statuses.map(|s| s.as_u16()), [201, 200, 404, 404, 404]);
}

#[tokio::test]
async fn a_registered_agent_is_listed_heartbeats_with_its_own_token_and_is_deleted() {
    let app = app();
    // GIVEN the brief's registration
    let registered = body_json(&serve(&app, register, event("agents-register", "operator")).await);
    let id = registered["agent_id"].as_str().unwrap().to_owned();
    assert!(
        registered["token"].as_str().unwrap().starts_with("mcpf_"),
        "{registered}"
    );
    assert_eq!(
        (registered["status"].as_str(), registered["type"].as_str()),
        (Some("active"), Some("worker"))
    );
    // WHEN it is listed by capability, and its heartbeat is sent by an operator, then with its token
    let listed = body_json(&serve(&app, list, event("agents-list", "operator")).await);
    let at = |e: &mut serde_json::Value| {
        e["rawPath"] = format!("/api/v1/agents/{id}/heartbeat").into();
        e["pathParameters"]["agentID"] = id.clone().into();
    };
    let by_operator = event_edited("agents-heartbeat", "unknown", |e| {
        at(e);
        e["requestContext"]["authorizer"]["lambda"]["role"] = "operator".into();
    });
    let not_permitted = serve(&app, heartbeat, by_operator).await;
    let another_agent = event_edited("agents-heartbeat", "unknown", at);
    let refused = serve(&app, heartbeat, another_agent).await;
    let key_id = registered["key_id"].as_str().unwrap().to_owned();
    let own = event_edited("agents-heartbeat", "unknown", |e| {
        at(e);
        e["requestContext"]["authorizer"]["lambda"]["subject"] = key_id.clone().into();
    });
    let beat = serve(&app, heartbeat, own).await;
    // THEN it is found; only its own token's beat is taken
    assert_eq!(listed["agents"][0]["agent_id"], id.as_str(), "{listed}");
    assert_eq!(not_permitted.status(), 403, "{}", body_json(&not_permitted));
    assert_eq!(
        (refused.status().as_u16(), &body_json(&refused)["error"]["code"]),
        (403, &serde_json::json!("NOT_THIS_AGENT"))
    );
    assert_eq!(beat.status(), 200, "{}", body_json(&beat));
    assert_eq!(
        (
            body_json(&beat)["reported_status"].as_str(),
            body_json(&beat)["current_load"].as_f64()
        ),
        (Some("busy"), Some(0.5))
    );
    // AND once deleted it is gone, its token with it
    let delete_it = event_edited("agents-delete", "unknown", |e| {
        e["rawPath"] = format!("/api/v1/agents/{id}").into();
        e["pathParameters"]["agentID"] = id.clone().into();
    });
    assert_eq!(serve(&app, delete, delete_it).await.status(), 200);
    assert!(app.deps.keys.list("local").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_tenant_holding_its_most_keys_registers_no_agent_and_keeps_no_token() {
    let app = app();
    // GIVEN a tenant that holds its most keys
    for i in 0..shared::keys::MAX_KEYS_PER_TENANT {
        let tenant = "local".try_into().unwrap();
        shared::keys::admin::issue_key(
            &app.deps.keys,
            &tenant,
            &format!("k{i}"),
            shared::auth::Role::Viewer,
            "t",
        )
        .await
        .unwrap();
    }
    // WHEN an agent registers
    let refused = serve(&app, register, event("agents-register", "operator")).await;
    // THEN it is a 409 in the envelope, and neither an agent nor another key is stored
    assert_eq!(
        (refused.status().as_u16(), &body_json(&refused)["error"]["code"]),
        (409, &serde_json::json!("KEY_LIMIT_REACHED"))
    );
    let listed = body_json(&serve(&app, list, event("agents-list", "operator")).await);
    assert_eq!(listed["agents"], serde_json::json!([]), "{listed}");
    assert_eq!(
        app.deps.keys.list("local").await.unwrap().len(),
        shared::keys::MAX_KEYS_PER_TENANT
    );
}
