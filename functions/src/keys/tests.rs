//! Key management handlers with the in-memory store and the events in `events/keys-*`.

use shared::audit::InMemoryAuditLog;
use shared::auth::Role;
use shared::connections::memory::{InMemoryConnections, InMemoryPusher};
use shared::connections::store::ConnectionStore;
use shared::keys::admin::issue_key;
use shared::keys::InMemoryKeyStore;

use super::*;
use crate::api::test_support::{audit, entries};
use crate::api::{serve, App};
use crate::http::test_support::{body_json, event, event_without_authorizer};
use lambda_http::RequestExt;

#[tokio::test]
async fn create_returns_201_with_the_key_shown_once() {
    let deps = deps();
    let response = serve(&deps, create, event("keys-create", "admin")).await;
    assert_eq!(response.status(), 201);
    let body = body_json(&response);
    assert!(body["key"].as_str().unwrap().starts_with("mcpf_"));
    assert_eq!(
        (body["role"].as_str(), body["tenant"].as_str()),
        (Some("operator"), Some("local"))
    );
    let listed = body_json(&serve(&deps, list, event("keys-list", "admin")).await);
    assert_eq!(listed["keys"][0]["name"], "ci pipeline");
    assert!(listed["keys"][0].get("key").is_none() && listed["keys"][0].get("hash").is_none());
}

#[tokio::test]
async fn create_with_an_unknown_role_is_a_400_naming_the_roles() {
    let mut req = event("keys-create", "admin");
    *req.body_mut() = lambda_http::Body::Text(r#"{"name":"x","role":"root"}"#.into());
    let response = serve(&deps(), create, req).await;
    assert_eq!(response.status(), 400);
    let body = body_json(&response);
    assert_eq!(body["error"]["code"], "INVALID_KEY_REQUEST");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("admin, operator, agent, viewer"));
}

type RevokeApp = App<Revocation<InMemoryKeyStore, InMemoryConnections, InMemoryPusher>, InMemoryAuditLog>;

/// The revoke route's app: the in-memory store and connections, audited.
fn revoke_deps() -> RevokeApp {
    let revocation = Revocation {
        keys: InMemoryKeyStore::default(),
        sockets: Some((InMemoryConnections::default(), InMemoryPusher::default())),
    };
    App::new(revocation, audit()).audited()
}

#[tokio::test]
async fn revoking_a_key_of_the_tenant_marks_it_revoked_closes_its_connections_and_an_unknown_one_is_404() {
    let deps = revoke_deps();
    let response = serve(&deps, revoke, event("keys-revoke", "admin")).await;
    assert_eq!(response.status(), 404);
    assert_eq!(body_json(&response)["error"]["code"], "KEY_NOT_FOUND");
    let created = issue_key(&deps.deps.keys, &"local".try_into().unwrap(), "ci", Role::Viewer, "t")
        .await
        .unwrap();
    // Two WebSocket connections of the tenant: one opened with the key, one with another
    let (connections, pusher) = deps.deps.sockets.as_ref().unwrap();
    for (id, subject) in [
        ("with-key", created.record.key_id.as_str()),
        ("other", "0000000000000000"),
    ] {
        let connection = shared::connections::Connection {
            connection_id: id.into(),
            tenant: "local".into(),
            subject: subject.into(),
            role: Role::Viewer,
            method: shared::auth::AuthMethod::ApiKey,
            connected_at_ms: 0,
            expires_at: i64::MAX,
        };
        connections.put(&connection).await.unwrap();
    }
    let mut req = event("keys-revoke", "admin");
    let params = std::collections::HashMap::from([("keyID".to_owned(), vec![created.record.key_id.clone()])]);
    req = req.with_path_parameters(lambda_http::aws_lambda_events::query_map::QueryMap::from(params));
    // A later millisecond, so the two audit entries (same request id in the fixture) stay apart.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let response = serve(&deps, revoke, req).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response)["revoked"], true);
    // The key's connection is told and closed, the other left open
    assert_eq!(*pusher.closed.lock().unwrap(), ["with-key"]);
    assert!(connections.get("with-key").await.unwrap().is_none());
    assert!(connections.get("other").await.unwrap().is_some());
    let audit = entries(&deps).await;
    let outcomes: Vec<_> = audit
        .iter()
        .map(|e| (e.outcome.as_str(), e.status, e.target.as_deref()))
        .collect();
    let id = created.record.key_id.as_str();
    assert_eq!(
        outcomes,
        [("succeeded", 200, Some(id)), ("failed", 404, Some("0123456789abcdef"))]
    );
}

#[tokio::test]
async fn a_request_without_an_authorizer_verdict_is_401() {
    let response = serve(&deps(), list, event_without_authorizer("keys-list", "admin")).await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="mcpflow""#);
    assert_eq!(body_json(&response)["error"]["code"], "UNAUTHENTICATED");
}

/// The key routes' app: the in-memory store, audited (the create and revoke routes are).
fn deps() -> App<InMemoryKeyStore, InMemoryAuditLog> {
    App::new(InMemoryKeyStore::default(), audit()).audited()
}

#[tokio::test]
async fn revoking_a_malformed_key_id_is_404_without_a_lookup_or_an_echo() {
    let deps = revoke_deps();
    let mut req = event("keys-revoke", "admin");
    let bad = "k#".repeat(500);
    let params = std::collections::HashMap::from([("keyID".to_owned(), vec![bad])]);
    req = req.with_path_parameters(lambda_http::aws_lambda_events::query_map::QueryMap::from(params));
    let response = serve(&deps, revoke, req).await;
    assert_eq!(response.status(), 404);
    let body = body_json(&response);
    assert_eq!(body["error"]["code"], "KEY_NOT_FOUND");
    assert_eq!(
        body["error"]["message"],
        "no API key with that id: key ids are 16 lowercase hex digits"
    );
    let audit = entries(&deps).await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].target, None);
}
