//! Agents through the local gateway: registration with a token of the agent's own, heartbeats only
//! with that token, liveness that follows the heartbeats, filters, another tenant's agent unknown,
//! deletion revoking the token, and `agent_update` events to the `agents` topic.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::auth_matrix::{jwt, secret};
use crate::helpers::{fresh_tenant, gateway_url, http, remember_secret, send_json, Credential};
use crate::websocket::{connect_with, first_subscribe, next};

fn bearer_of(tenant: &str, role: &str) -> Credential {
    let token = jwt(tenant, role, &json!({}), &secret());
    remember_secret(&token);
    ("authorization", format!("Bearer {token}"))
}

async fn call(method: &str, caller: &Credential, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut request = http()
        .request(method.parse().unwrap(), format!("{}{path}", gateway_url()))
        .header(caller.0, &caller.1);
    if let Some(body) = body {
        request = request.json(body);
    }
    send_json(request).await
}

/// The brief's registration.
fn brief() -> Value {
    json!({"name": "agent-name", "type": "worker", "capabilities": ["task-execution", "data-processing"],
           "endpoints": {"task": "http://agent:8080/task", "status": "http://agent:8080/status", "health": "http://agent:8080/health"},
           "resources": {"cpu": 4, "memory": "8GB", "gpu": true}})
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn an_agent_registers_heartbeats_with_its_own_token_goes_stale_when_quiet_and_is_deleted() {
    // GIVEN a tenant's admin watching the tenant's agents over the WebSocket API
    let tenant = fresh_tenant("agents");
    let admin = bearer_of(&tenant, "admin");
    let mut watcher = connect_with(Some((admin.0, &admin.1)), "").await.unwrap();
    let subscribed = first_subscribe(&mut watcher, "agents").await;
    assert_eq!(subscribed["result"]["subscribed"][0], "agents", "{subscribed}");
    // WHEN it registers the brief's agent
    let (status, agent) = call("POST", &admin, "/api/v1/agents/register", Some(&brief())).await;
    assert_eq!(status, 201, "{agent}");
    let id = agent["agent_id"].as_str().unwrap().to_owned();
    let token = agent["token"].as_str().unwrap().to_owned();
    remember_secret(&token);
    // THEN it is active, with a token of its own, and the watcher hears of it
    assert_eq!(
        (agent["status"].as_str(), agent["type"].as_str()),
        (Some("active"), Some("worker"))
    );
    let event = next(&mut watcher).await;
    assert_eq!(
        (
            event["event_type"].as_str(),
            event["data"]["agent_id"].as_str(),
            event["data"]["change"].as_str()
        ),
        (Some("agent_update"), Some(id.as_str()), Some("registered")),
        "{event}"
    );
    assert!(event["data"].get("token").is_none(), "{event}");
    // AND its heartbeat is taken with its token only: not an operator's, not another agent's
    let own: Credential = ("x-api-key", token.clone());
    let beat = json!({"status": "busy", "current_load": 0.5});
    let heartbeat = format!("/api/v1/agents/{id}/heartbeat");
    let (status, _) = call("POST", &bearer_of(&tenant, "operator"), &heartbeat, Some(&beat)).await;
    assert_eq!(status, 403);
    let (_, other) = call(
        "POST",
        &admin,
        "/api/v1/agents/register",
        Some(&json!({"name": "other", "type": "validator", "capabilities": ["validation"]})),
    )
    .await;
    let other_token: Credential = ("x-api-key", other["token"].as_str().unwrap().to_owned());
    remember_secret(&other_token.1);
    let (status, refused) = call("POST", &other_token, &heartbeat, Some(&beat)).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("NOT_THIS_AGENT")),
        "{refused}"
    );
    let (status, after) = call("POST", &own, &heartbeat, Some(&beat)).await;
    let beat_at = Instant::now();
    assert_eq!(
        (
            status,
            after["reported_status"].as_str(),
            after["current_load"].as_f64()
        ),
        (200, Some("busy"), Some(0.5)),
        "{after}"
    );
    // AND the listing filters by capability, type and status; another tenant does not see it
    let names = |v: &Value| -> Vec<String> {
        v["agents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, processing) = call("GET", &admin, "/api/v1/agents?capability=data-processing", None).await;
    assert_eq!(names(&processing), ["agent-name"]);
    let (_, validators) = call("GET", &admin, "/api/v1/agents?type=validator", None).await;
    assert_eq!(names(&validators), ["other"]);
    let (status, bad) = call("GET", &admin, "/api/v1/agents?status=asleep", None).await;
    assert_eq!(
        (status, bad["error"]["details"]["field"].as_str()),
        (400, Some("status")),
        "{bad}"
    );
    let (status, _) = call(
        "GET",
        &bearer_of(&fresh_tenant("stranger"), "admin"),
        &format!("/api/v1/agents/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    // AND quiet past AgentStaleSeconds (3 s on the test stack) it is stale, past AgentInactiveSeconds
    // (6 s) inactive: each read halfway into its state's window
    tokio::time::sleep_until((beat_at + Duration::from_millis(4_500)).into()).await;
    let (_, stale) = call("GET", &admin, "/api/v1/agents?status=stale", None).await;
    assert!(names(&stale).contains(&"agent-name".to_owned()), "{stale}");
    tokio::time::sleep_until((beat_at + Duration::from_millis(7_000)).into()).await;
    let (_, quiet) = call("GET", &admin, &format!("/api/v1/agents/{id}"), None).await;
    assert_eq!(quiet["status"], "inactive", "{quiet}");
    // AND the same heartbeat again makes it active, which the watcher hears for that reason alone
    let (_, back) = call("POST", &own, &heartbeat, Some(&beat)).await;
    assert_eq!(back["status"], "active", "{back}");
    loop {
        let event = next(&mut watcher).await;
        if event["data"]["last_heartbeat"] == back["last_heartbeat"] {
            assert_eq!(
                (event["data"]["change"].as_str(), event["data"]["status"].as_str()),
                (Some("heartbeat"), Some("active")),
                "{event}"
            );
            break;
        }
    }
    // AND deleting it deletes its token and tells the watcher
    let (status, _) = call("DELETE", &admin, &format!("/api/v1/agents/{id}"), None).await;
    assert_eq!(status, 200);
    let (status, _) = call("POST", &own, &heartbeat, Some(&beat)).await;
    assert_eq!(status, 401);
    loop {
        let event = next(&mut watcher).await;
        if event["data"]["change"] == "deleted" {
            assert_eq!(event["data"]["agent_id"], id.as_str());
            break;
        }
    }
}
