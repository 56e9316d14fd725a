//! The WebSocket routes on their `events/` fixtures with in-memory connections, keys and limiter:
//! the handshake's credentials, the welcome, heartbeats, refusals and the per-connection limit.

use serde_json::Value;
use shared::auth::Role;
use shared::connections::memory::{InMemoryConnections, InMemoryPusher};
use shared::conversation::memory::InMemory;
use shared::keys::admin::issue_key;
use shared::keys::InMemoryKeyStore;
use shared::ratelimit::{InMemoryRateLimiter, RateLimits, DEFAULT_RATE_LIMITS};

use super::*;
use crate::http::test_support::{event, event_edited};

fn authenticator() -> Authenticator<InMemoryKeyStore, InMemoryRateLimiter> {
    Authenticator {
        store: InMemoryKeyStore::default(),
        limiter: InMemoryRateLimiter::default(),
        limits: RateLimits::parse(DEFAULT_RATE_LIMITS).unwrap(),
        jwt: None,
        last_use: shared::auth::authenticate::LastUse::default(),
    }
}

fn connect_deps() -> ConnectDeps<InMemoryConnections, InMemoryKeyStore, InMemoryRateLimiter> {
    ConnectDeps {
        connections: InMemoryConnections::default(),
        auth: authenticator(),
        timeouts: None,
    }
}

type Deps = MessageDeps<
    InMemoryConnections,
    InMemoryPusher,
    InMemoryRateLimiter,
    Stores<InMemory, InMemory, shared::registered::memory::InMemoryRegistry>,
>;

fn message_deps(per_minute: u32) -> Deps {
    let state = InMemory::default();
    MessageDeps {
        connections: InMemoryConnections::default(),
        pusher: InMemoryPusher::default(),
        limiter: InMemoryRateLimiter::default(),
        messages_per_minute: per_minute,
        topics: Stores {
            tasks: state.clone(),
            contexts: state,
            registry: shared::registered::memory::InMemoryRegistry::default(),
            pipelines: shared::pipelines::memory::InMemoryPipelines::default(),
        },
        health: Some(HealthChecks::new(
            shared::health::InMemoryProbe::default(),
            vec![shared::health::Dependency::Table { name: "t".into() }],
            std::time::Duration::from_secs(1),
        )),
        tools: (),
        principal_limits: RateLimits::parse(DEFAULT_RATE_LIMITS).unwrap(),
        auth: Some(authenticator()),
        metrics: Some(Recorder::named(
            std::sync::Arc::new(shared::metrics::memory::InMemoryMetrics::default()),
            "ws-message",
        )),
        queues: None,
    }
}

const ID: &str = "JZ8g9cOFvHcCIhw=";

fn json_body(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap()
}

/// Task `task_0…01` of tenant `acme`, created now, pending, with `fields` over those.
fn pending_task(fields: &Value) -> shared::tasks::model::Task {
    let mut doc = serde_json::json!({"task_id": "task_0000000000000000000000000001", "type": "ai.completion",
        "status": "pending", "priority": 5, "context_id": null, "user_id": null, "model_id": null,
        "created_at": Utc::now().to_rfc3339(), "started_at": null, "finished_at": null, "attempts": 0,
        "provider": null, "model": null, "usage": null, "output": null, "error": null});
    if let (Some(doc), Some(fields)) = (doc.as_object_mut(), fields.as_object()) {
        doc.extend(fields.clone());
    }
    let mut task: shared::tasks::model::Task = serde_json::from_value(doc).unwrap();
    task.tenant = "acme".into();
    task
}

/// The route response to `req`, as JSON.
async fn answer_to(deps: &Deps, req: Request) -> Value {
    json_body(&message(deps, req).await.unwrap())
}

fn with_body(text: &str) -> Request {
    event_edited("ws-message", "unknown-connection", |e| e["body"] = text.into())
}

async fn open(deps: &Deps) {
    let now = Utc::now();
    let connection = Connection {
        connection_id: ID.into(),
        tenant: "acme".into(),
        subject: "k1".into(),
        role: Role::Viewer,
        method: shared::auth::AuthMethod::ApiKey,
        connected_at_ms: now.timestamp_millis() - 5_000,
        expires_at: now.timestamp() + CONNECTION_TTL_SECS,
    };
    deps.connections.put(&connection).await.unwrap();
}

#[tokio::test]
async fn a_handshake_without_a_valid_key_is_refused_with_401() {
    let deps = connect_deps();
    for case in ["no-credentials", "unknown-key", "unknown-token-query"] {
        let response = connect(&deps, event("ws-connect", case)).await.unwrap();
        assert_eq!(response.status(), 401, "{case}");
        assert_eq!(json_body(&response)["error_code"], "INVALID_API_KEY", "{case}");
    }
    assert!(deps.connections.get(ID).await.unwrap().is_none());
}

#[tokio::test]
async fn a_key_in_a_header_or_the_token_query_parameter_opens_a_connection_of_its_tenant() {
    let deps = connect_deps();
    let key = issue_key(&deps.auth.store, &"acme".try_into().unwrap(), "ws", Role::Viewer, "t")
        .await
        .unwrap();
    let key = key.key.expose().to_owned();
    let by_header = event_edited("ws-connect", "unknown-key", |e| {
        e["headers"].as_object_mut().unwrap().remove("authorization");
        e["multiValueHeaders"].as_object_mut().unwrap().remove("authorization");
        e["headers"]["x-api-key"] = key.clone().into();
        e["multiValueHeaders"]["x-api-key"] = serde_json::json!([key]);
    });
    assert_eq!(connect(&deps, by_header).await.unwrap().status(), 200);
    let stored = deps.connections.get(ID).await.unwrap().unwrap();
    assert_eq!((stored.tenant.as_str(), stored.role), ("acme", Role::Viewer));
    deps.connections.delete(ID).await.unwrap();
    let by_query = event_edited("ws-connect", "unknown-token-query", |e| {
        e["queryStringParameters"]["token"] = key.clone().into();
        e["multiValueQueryStringParameters"]["token"] = serde_json::json!([key]);
    });
    assert_eq!(connect(&deps, by_query).await.unwrap().status(), 200);
    assert!(deps.connections.get(ID).await.unwrap().is_some());
}

#[tokio::test]
async fn a_message_on_a_connection_that_is_not_open_is_unauthorized_access() {
    let deps = message_deps(100);
    let response = message(&deps, event("ws-message", "unknown-connection")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(json_body(&response)["error_code"], "UNAUTHORIZED_ACCESS");
}

#[tokio::test]
async fn the_first_message_gets_the_welcome_pushed_and_each_heartbeat_its_answer() {
    let deps = message_deps(100);
    open(&deps).await;
    let first = answer_to(&deps, event("ws-message", "unknown-connection")).await;
    assert_eq!(
        (
            first["message_type"].as_str(),
            first["request_id"].as_str(),
            first["client_id"].as_str()
        ),
        (Some("heartbeat"), Some("hb-1"), Some(ID))
    );
    assert!(first["uptime"].as_f64().unwrap() >= 5.0, "{first}");
    message(&deps, event("ws-message", "unknown-connection")).await.unwrap();
    let pushed = deps.pusher.pushed.lock().unwrap().clone();
    assert_eq!(pushed.len(), 1, "one welcome, on the first message only");
    let welcome: Value = serde_json::from_str(&pushed[0].1).unwrap();
    assert_eq!(
        (welcome["event_type"].as_str(), welcome["data"]["client_id"].as_str()),
        (Some("welcome"), Some(ID))
    );
}

#[tokio::test]
async fn a_broken_message_is_answered_with_its_error_code() {
    let deps = message_deps(100);
    open(&deps).await;
    let cases = [
        ("{", "INVALID_MESSAGE_FORMAT"),
        (
            r#"{"protocol_version":"1.0","message_type":"heartbeat","message_id":"a"}"#,
            "INVALID_PROTOCOL_VERSION",
        ),
        (
            r#"{"protocol_version":"2.0","message_type":"heartbeat","message_id":"a b"}"#,
            "INVALID_MESSAGE_ID",
        ),
        (
            r#"{"protocol_version":"2.0","message_type":"request","message_id":"r","method":"x/y"}"#,
            "INVALID_MESSAGE_FORMAT",
        ),
    ];
    for (text, code) in cases {
        let answer = answer_to(&deps, with_body(text)).await;
        assert_eq!(answer["error_code"], code, "{text}");
    }
}

#[tokio::test]
async fn past_its_limit_a_connection_gets_rate_limit_exceeded_with_the_wait() {
    let deps = message_deps(3);
    open(&deps).await;
    for _ in 0..3 {
        let answer = answer_to(&deps, event("ws-message", "unknown-connection")).await;
        assert_eq!(answer["message_type"], "heartbeat");
    }
    let limited = answer_to(&deps, event("ws-message", "unknown-connection")).await;
    assert_eq!(limited["error_code"], "RATE_LIMIT_EXCEEDED");
    assert!(
        limited["details"]["retry_after_secs"].as_u64().unwrap() >= 1,
        "{limited}"
    );
}

#[tokio::test]
async fn disconnect_forgets_the_connection() {
    let connections = InMemoryConnections::default();
    let deps = message_deps(100);
    open(&deps).await;
    let response = disconnect(&deps.connections, event("ws-disconnect", "closed"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(deps.connections.get(ID).await.unwrap().is_none());
    assert_eq!(
        disconnect(&connections, event("ws-disconnect", "closed"))
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_subscription_to_a_task_of_the_tenant_is_kept_and_another_tenants_is_refused_as_unknown() {
    let deps = message_deps(100);
    open(&deps).await;
    // GIVEN a task of the connection's tenant and one of another tenant
    let mut task = pending_task(&serde_json::json!({}));
    TaskStore::create(&deps.topics.tasks, &task).await.unwrap();
    task.tenant = "other".into();
    task.task_id = "task_0000000000000000000000000002".into();
    TaskStore::create(&deps.topics.tasks, &task).await.unwrap();
    let ask = |id: &str| {
        with_body(
            &serde_json::json!({"protocol_version": "2.0", "message_type": "request", "message_id": "s1",
            "method": "subscribe", "params": {"topics": [format!("task:{id}")]}})
            .to_string(),
        )
    };
    // WHEN the connection subscribes to each
    let mine = answer_to(&deps, ask("task_0000000000000000000000000001")).await;
    let theirs = answer_to(&deps, ask("task_0000000000000000000000000002")).await;
    let unknown = answer_to(&deps, ask("task_0000000000000000000000000003")).await;
    // THEN its own is subscribed, and the other tenant's is refused exactly as an unknown one
    assert_eq!(
        mine["result"]["subscribed"][0], "task:task_0000000000000000000000000001",
        "{mine}"
    );
    // AND the answer carries the task's state, so a task already finished is not missed
    assert_eq!(
        mine["result"]["tasks"]["task_0000000000000000000000000001"]["status"],
        "pending"
    );
    assert_eq!(theirs["error_code"], "UNAUTHORIZED_ACCESS");
    assert_eq!(
        theirs["error_message"].as_str().map(|m| m.replace('2', "3")),
        unknown["error_message"].as_str().map(str::to_owned)
    );
    let subscribed = deps
        .connections
        .subscribers("acme", "task:task_0000000000000000000000000001")
        .await;
    assert_eq!(subscribed.unwrap(), [ID]);
}

#[tokio::test]
async fn disconnect_also_removes_the_connections_subscriptions() {
    let deps = message_deps(100);
    open(&deps).await;
    deps.connections
        .subscribe("acme", "task:t", ID, i64::MAX)
        .await
        .unwrap();
    disconnect(&deps.connections, event("ws-disconnect", "closed"))
        .await
        .unwrap();
    assert!(deps.connections.subscribers("acme", "task:t").await.unwrap().is_empty());
}

fn request(method: &str, params: &Value) -> Request {
    with_body(
        &serde_json::json!({"protocol_version": "2.0", "message_type": "request", "message_id": "r1",
            "method": method, "params": params})
        .to_string(),
    )
}

#[tokio::test]
async fn events_since_answers_the_kept_events_of_subscribed_topics_after_the_given_one_each_once() {
    use shared::connections::store::{EventLog, KeptEvent};
    let deps = message_deps(100);
    open(&deps).await;
    deps.connections
        .subscribe("acme", "task:t1", ID, i64::MAX)
        .await
        .unwrap();
    deps.connections
        .subscribe("acme", "context:c1", ID, i64::MAX)
        .await
        .unwrap();
    // GIVEN three events kept under the task and its context, and one of another tenant
    let mut ids = Vec::new();
    for n in 0..3 {
        let (event_id, text) = envelope::kept_event("task_update", &serde_json::json!({"n": n}));
        let topics = ["task:t1".to_owned(), "context:c1".to_owned()];
        let kept = KeptEvent {
            event_id: event_id.clone(),
            message: text,
        };
        deps.connections.keep("acme", &topics, &kept, i64::MAX).await.unwrap();
        ids.push(event_id);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let (other, text) = envelope::kept_event("task_update", &serde_json::json!({"n": "other"}));
    let kept = KeptEvent {
        event_id: other,
        message: text,
    };
    deps.connections
        .keep("other", &["task:t1".to_owned()], &kept, i64::MAX)
        .await
        .unwrap();
    // WHEN the connection asks for what came after the first
    let answer = answer_to(&deps, request("events/since", &serde_json::json!({"after": ids[0]}))).await;
    // THEN it gets the second and third, once each though kept under two topics, oldest first
    let got: Vec<&str> = answer["result"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[1].as_str(), ids[2].as_str()], "{answer}");
    assert_eq!(
        (
            answer["result"]["more"].as_bool(),
            answer["result"]["complete"].as_bool()
        ),
        (Some(false), Some(true))
    );
    // AND after the second, the first is answered again (ids within 5 s may sort either way) but
    // not one kept 10 s before it; a cursor continues exactly
    let old_ms = Utc::now().timestamp_millis() - 10_000;
    let old = KeptEvent {
        event_id: format!("evt_{old_ms:012x}{}", "0".repeat(16)),
        message: "{}".into(),
    };
    deps.connections
        .keep("acme", &["task:t1".to_owned()], &old, i64::MAX)
        .await
        .unwrap();
    let ids_of = |answer: &Value| -> Vec<String> {
        answer["result"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message_id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let again = answer_to(&deps, request("events/since", &serde_json::json!({"after": ids[1]}))).await;
    assert_eq!(ids_of(&again), [ids[0].clone(), ids[2].clone()], "{again}");
    let exact = answer_to(&deps, request("events/since", &serde_json::json!({"cursor": ids[1]}))).await;
    assert_eq!(ids_of(&exact), [ids[2].clone()], "{exact}");
    // AND a topic it is not subscribed to, or a malformed id, is refused
    let foreign = serde_json::json!({"topics": ["task:t9"]});
    let refused = answer_to(&deps, request("events/since", &foreign)).await;
    assert_eq!(refused["error_code"], "UNAUTHORIZED_ACCESS", "{refused}");
    let bad = serde_json::json!({"after": "evt_nothex"});
    let refused = answer_to(&deps, request("events/since", &bad)).await;
    assert_eq!(refused["error_code"], "INVALID_MESSAGE_FORMAT", "{refused}");
    // AND an id older than the events kept says the answer may not be complete
    let ancient = format!("evt_{:012x}{}", 1_000_000_000_000_i64, "0".repeat(16));
    let stale = answer_to(&deps, request("events/since", &serde_json::json!({"after": ancient}))).await;
    assert_eq!(stale["result"]["complete"], false, "{stale}");
    assert_eq!(stale["result"]["events"].as_array().map(Vec::len), Some(4));
}

#[test]
fn each_time_a_connection_exceeds_its_limit_the_cool_down_doubles_up_to_5_minutes() {
    let waits: Vec<u64> = (1..=6).map(|times| cool_down(1, times)).collect();
    assert_eq!(waits, [1, 2, 4, 8, 16, 32]);
    assert_eq!(cool_down(0, 1), 1);
    assert_eq!((cool_down(30, 4), cool_down(30, 5), cool_down(1, 90)), (240, 300, 300));
}

#[tokio::test]
async fn a_connection_is_closed_at_its_20th_violation_after_being_told_why() {
    let deps = message_deps(1000);
    open(&deps).await;
    for n in 1..=MAX_VIOLATIONS {
        let answer = answer_to(&deps, with_body("not json")).await;
        assert_eq!(answer["error_code"], "INVALID_MESSAGE_FORMAT");
        let closed = deps.pusher.closed.lock().unwrap().clone();
        assert_eq!(closed.is_empty(), n < MAX_VIOLATIONS, "after {n}");
    }
    let pushed = deps.pusher.pushed.lock().unwrap().clone();
    let last: Value = serde_json::from_str(&pushed.last().unwrap().1).unwrap();
    assert_eq!(last["error_code"], "SECURITY_VIOLATION", "{last}");
    assert_eq!(last["details"]["violations"]["INVALID_MESSAGE_FORMAT"], 20, "{last}");
}

#[tokio::test]
async fn past_its_limit_a_connection_cools_down_and_every_refusal_counts_as_a_violation() {
    let deps = message_deps(2);
    open(&deps).await;
    for _ in 0..2 {
        message(&deps, event("ws-message", "unknown-connection")).await.unwrap();
    }
    let limited = answer_to(&deps, event("ws-message", "unknown-connection")).await;
    assert_eq!(
        (
            limited["error_code"].as_str(),
            limited["details"]["times_exceeded"].as_u64()
        ),
        (Some("RATE_LIMIT_EXCEEDED"), Some(1))
    );
    // Within the cool-down, refused without asking the bucket
    let cooling = answer_to(&deps, event("ws-message", "unknown-connection")).await;
    assert!(
        cooling["error_message"].as_str().unwrap().contains("cooling down"),
        "{cooling}"
    );
    let diagnosed = answer_to(&deps, request("system/diagnostics", &serde_json::json!({}))).await;
    assert_eq!(
        diagnosed["error_code"], "RATE_LIMIT_EXCEEDED",
        "diagnostics wait too: {diagnosed}"
    );
    // Each refusal is a violation, but only the bucket's own earns the next, doubled, cool-down
    let after = deps.connections.received(ID, 0).await.unwrap().unwrap();
    assert_eq!((after.violations["RATE_LIMIT_EXCEEDED"], after.times_exceeded), (3, 1));
}

#[tokio::test]
async fn a_connection_holds_at_most_100_topics() {
    let deps = message_deps(1000);
    open(&deps).await;
    for n in 0..MAX_TOPICS_PER_CONNECTION {
        deps.connections
            .subscribe("acme", &format!("task:t{n}"), ID, i64::MAX)
            .await
            .unwrap();
    }
    let task = pending_task(&serde_json::json!({}));
    TaskStore::create(&deps.topics.tasks, &task).await.unwrap();
    let params = serde_json::json!({"topics": [format!("task:{}", task.task_id)]});
    let refused = answer_to(&deps, request("subscribe", &params)).await;
    assert_eq!(refused["error_code"], "INVALID_MESSAGE_FORMAT", "{refused}");
    assert!(
        refused["error_message"].as_str().unwrap().contains("100 topics"),
        "{refused}"
    );
}

#[tokio::test]
async fn diagnostics_tell_the_connections_counts_violations_subscriptions_and_the_tenants_connections() {
    let deps = message_deps(100);
    open(&deps).await;
    deps.connections
        .subscribe("acme", "task:t1", ID, i64::MAX)
        .await
        .unwrap();
    message(&deps, with_body("not json")).await.unwrap();
    message(&deps, with_body("{\"protocol_version\": \"1.0\"}"))
        .await
        .unwrap();
    message(&deps, event("ws-message", "unknown-connection")).await.unwrap();
    let answer = answer_to(&deps, request("system/diagnostics", &serde_json::json!({}))).await;
    let result = &answer["result"];
    assert_eq!(result["connection"]["messages_received"], 4, "{answer}");
    assert_eq!(
        result["connection"]["violations"],
        serde_json::json!({"INVALID_MESSAGE_FORMAT": 1, "INVALID_PROTOCOL_VERSION": 1})
    );
    assert_eq!(result["connection"]["subscriptions"], serde_json::json!(["task:t1"]));
    assert_eq!(result["tenant"]["active_connections"], 1);
    assert_eq!(result["health"]["status"], "ok", "{answer}");
}

fn call(name: &str, arguments: &Value) -> Request {
    request("tools/call", &serde_json::json!({"name": name, "arguments": arguments}))
}

#[tokio::test]
async fn the_system_tools_are_listed_and_stream_analyze_reads_a_streamed_tasks_figures() {
    let deps = message_deps(100);
    open(&deps).await;
    // GIVEN a streamed task of the tenant that finished after restarting once
    let task = pending_task(&serde_json::json!({"type": "mcp.add_prompt", "status": "failed",
        "error": "broke", "error_code": "PROVIDER_FAILED", "stream": true,
        "stream_stats": {"chunks": 6, "attempts": 3, "first_chunk_ms": 40, "gap_p50_ms": 50, "gap_p95_ms": 60,
                         "gap_max_ms": 70, "total_ms": 900}}));
    TaskStore::create(&deps.topics.tasks, &task).await.unwrap();
    // WHEN tools are listed, and stream/analyze asked for the task and for the last hour
    let listed = answer_to(&deps, request("tools/list", &serde_json::json!({}))).await;
    let one = json_body(
        &message(
            &deps,
            call("stream/analyze", &serde_json::json!({"task_id": task.task_id})),
        )
        .await
        .unwrap(),
    );
    let hour = answer_to(&deps, call("stream/analyze", &serde_json::json!({}))).await;
    // THEN the system tools are there, and the analyses carry the task's figures
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "system/diagnostics",
            "system/performance",
            "stream/analyze",
            "workflow/analyze"
        ]
    );
    assert_eq!(one["result"]["structuredContent"]["stream"]["chunks"], 6, "{one}");
    let summary = &hour["result"]["structuredContent"];
    assert_eq!(
        (
            summary["streams"].as_u64(),
            summary["restarted"].as_u64(),
            summary["chunks"].as_u64()
        ),
        (Some(1), Some(1), Some(6)),
        "{hour}"
    );
    assert_eq!(summary["failed_by_code"]["PROVIDER_FAILED"], 1);
    assert_eq!(summary["first_chunk_ms"]["p50"], 40);
    // AND a bad argument is a tool error, an unknown tool a refusal
    let bad = answer_to(&deps, call("stream/analyze", &serde_json::json!({"minutes": 0}))).await;
    assert_eq!(bad["result"]["isError"], true, "{bad}");
    let unknown = answer_to(&deps, call("no_such_tool", &serde_json::json!({}))).await;
    assert_eq!(unknown["error_code"], "INVALID_MESSAGE_FORMAT", "{unknown}");
}

#[tokio::test]
async fn performance_counts_this_functions_messages_and_the_tenants_tasks_in_the_window() {
    let deps = message_deps(100);
    open(&deps).await;
    let recorder = deps.metrics.clone().unwrap();
    // GIVEN three messages (one refused) and a finished task of the tenant, and one of another tenant
    message(&deps, request("system/diagnostics", &serde_json::json!({})))
        .await
        .unwrap();
    message(&deps, with_body("not json")).await.unwrap();
    recorder
        .sample("acme", "task:completed", 1_200, Outcome::Succeeded)
        .await;
    recorder
        .sample("globex", "task:completed", 10, Outcome::Succeeded)
        .await;
    recorder.sample("globex", "ws-message", 10, Outcome::Failed).await;
    // WHEN the performance tool is called (the third message) and the method asked (the fourth)
    let called = answer_to(&deps, call("system/performance", &serde_json::json!({"minutes": 5}))).await;
    let asked = answer_to(&deps, request("system/performance", &serde_json::json!({}))).await;
    // THEN the figures are the tenant's own: the messages before each, the refused one a client error
    let figures = &called["result"]["structuredContent"];
    assert_eq!(figures["window_minutes"], 5, "{called}");
    assert_eq!(figures["resolution"], "minute");
    let functions = figures["functions"].as_array().unwrap();
    assert_eq!(functions.len(), 1, "{figures}");
    assert_eq!(
        (
            &functions[0]["function"],
            &functions[0]["invocations"],
            &functions[0]["client_errors"],
            &functions[0]["errors"]
        ),
        (
            &serde_json::json!("ws-message"),
            &serde_json::json!(2),
            &serde_json::json!(1),
            &serde_json::json!(0)
        )
    );
    assert_eq!(figures["tasks"]["completed"]["count"], 1);
    assert_eq!(figures["tasks"]["completed"]["p50_ms"], 1_500);
    assert_eq!(asked["result"]["functions"][0]["invocations"], 3, "{asked}");
    assert_eq!(asked["result"]["window_minutes"], 60);
    // AND a window past a day is refused
    let bad = answer_to(&deps, call("system/performance", &serde_json::json!({"minutes": 1441}))).await;
    assert_eq!(bad["result"]["isError"], true, "{bad}");
}

#[tokio::test]
async fn a_tool_call_counts_against_the_principals_own_rate_limit() {
    let mut deps = message_deps(100);
    deps.principal_limits = RateLimits::parse("admin=600/60,operator=300/60,agent=600/60,viewer=2/60").unwrap();
    open(&deps).await;
    let mut codes = Vec::new();
    for _ in 0..3 {
        let answer = answer_to(&deps, call("create_task", &serde_json::json!({"prompt": "hi"}))).await;
        codes.push((
            answer["error_code"].as_str().unwrap_or_default().to_owned(),
            answer["details"]["scope"].clone(),
        ));
    }
    // The first two reach the tools (here none: unknown); the third is past the viewer's 2 a minute
    assert_eq!(codes[0].0, "INVALID_MESSAGE_FORMAT");
    assert_eq!(codes[1].0, "INVALID_MESSAGE_FORMAT");
    assert_eq!(
        (codes[2].0.as_str(), &codes[2].1),
        ("RATE_LIMIT_EXCEEDED", &serde_json::json!("principal"))
    );
}

#[tokio::test]
async fn a_connection_past_its_credentials_expiry_is_told_and_closed() {
    let deps = message_deps(100);
    let now = Utc::now();
    let connection = Connection {
        connection_id: ID.into(),
        tenant: "acme".into(),
        subject: "viewer@acme".into(),
        role: Role::Viewer,
        method: shared::auth::AuthMethod::Jwt,
        connected_at_ms: now.timestamp_millis() - 60_000,
        expires_at: now.timestamp() - 1,
    };
    deps.connections.put(&connection).await.unwrap();
    let answer = answer_to(&deps, event("ws-message", "unknown-connection")).await;
    assert_eq!(answer["error_code"], "UNAUTHORIZED_ACCESS", "{answer}");
    assert!(
        answer["error_message"].as_str().unwrap().contains("expired"),
        "{answer}"
    );
    assert_eq!(*deps.pusher.closed.lock().unwrap(), [ID]);
}

#[tokio::test]
async fn a_handshake_without_credentials_waits_for_its_first_message_when_that_is_configured() {
    let mut deps = connect_deps();
    deps.timeouts = Some(shared::connections::pending::InMemoryAuthTimeouts::default());
    let response = connect(&deps, event("ws-connect", "no-credentials")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        deps.connections.get(ID).await.unwrap().is_none(),
        "not a connection yet"
    );
    let deadline = deps.connections.pending(ID).await.unwrap().unwrap();
    assert!(deadline > Utc::now().timestamp_millis() + 9_000);
    assert_eq!(*deps.timeouts.as_ref().unwrap().0.lock().unwrap(), [ID]);
}

/// A connection of `deps` waiting for its first-message authentication.
async fn pending(deps: &Deps) {
    let now = Utc::now();
    deps.connections
        .put_pending(ID, now.timestamp_millis() + 10_000, now.timestamp() + 60)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_first_message_with_a_valid_key_authenticates_the_connection_and_gets_the_welcome() {
    let deps = message_deps(100);
    pending(&deps).await;
    let key = issue_key(
        &deps.auth.as_ref().unwrap().store,
        &"acme".try_into().unwrap(),
        "ws",
        Role::Viewer,
        "t",
    )
    .await
    .unwrap();
    let auth = serde_json::json!({"type": "auth", "token": key.key.expose()}).to_string();
    let welcome = answer_to(&deps, with_body(&auth)).await;
    assert_eq!(
        (welcome["event_type"].as_str(), welcome["data"]["client_id"].as_str()),
        (Some("welcome"), Some(ID)),
        "{welcome}"
    );
    let opened = deps.connections.get(ID).await.unwrap().unwrap();
    assert_eq!((opened.tenant.as_str(), opened.role), ("acme", Role::Viewer));
    // Its next message is answered as any connection's, without a second welcome
    let beat = answer_to(&deps, event("ws-message", "unknown-connection")).await;
    assert_eq!(beat["message_type"], "heartbeat", "{beat}");
    assert!(deps.pusher.pushed.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_first_message_that_is_not_a_valid_auth_closes_the_connection_unanswered_or_told_why() {
    for (body, told) in [
        (
            serde_json::json!({"protocol_version": "2.0", "message_type": "heartbeat", "message_id": "hb"}),
            None,
        ),
        (
            serde_json::json!({"type": "auth", "token": "mcpf_0000000000000000_nope"}),
            Some("INVALID_API_KEY"),
        ),
    ] {
        let deps = message_deps(100);
        pending(&deps).await;
        let response = message(&deps, with_body(&body.to_string())).await.unwrap();
        let text = std::str::from_utf8(response.body().as_ref()).unwrap().to_owned();
        match told {
            None => assert!(text.is_empty(), "{text}"),
            Some(code) => assert!(text.contains(code), "{text}"),
        }
        assert_eq!(*deps.pusher.closed.lock().unwrap(), [ID], "{body}");
        assert_eq!(deps.connections.pending(ID).await.unwrap(), None);
    }
}

#[tokio::test]
async fn the_timeout_closes_a_connection_still_waiting_and_leaves_an_authenticated_one() {
    let deps = message_deps(100);
    pending(&deps).await;
    let record = |id: &str| serde_json::json!({"messageId": format!("m-{id}"), "body": serde_json::json!({"connection_id": id}).to_string()});
    let sqs: aws_lambda_events::sqs::SqsEvent =
        serde_json::from_value(serde_json::json!({"Records": [record(ID)]})).unwrap();
    let event = lambda_runtime::LambdaEvent::new(sqs.clone(), lambda_runtime::Context::default());
    let answered = auth_timeout(&deps.connections, &deps.pusher, event).await.unwrap();
    assert!(answered.batch_item_failures.is_empty());
    assert_eq!(*deps.pusher.closed.lock().unwrap(), [ID]);
    // An authenticated connection (its pending item not yet expired) is left open
    let deps = message_deps(100);
    pending(&deps).await;
    open(&deps).await;
    let event = lambda_runtime::LambdaEvent::new(sqs, lambda_runtime::Context::default());
    auth_timeout(&deps.connections, &deps.pusher, event).await.unwrap();
    assert!(deps.pusher.closed.lock().unwrap().is_empty());
}
