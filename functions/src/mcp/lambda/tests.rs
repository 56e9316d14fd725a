//! The MCP endpoint's side doors, through the Lambda adapter with the event in `events/mcp/`: a role
//! that may not cancel is refused in both protocol eras before any I/O (the stores' clients here
//! reach nothing), and each attempt is audited as denied.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
use serde_json::{json, Value};
use shared::audit::{AuditEntry, AuditLog, InMemoryAuditLog, Outcome};
use shared::contexts::dynamodb::DynamoDbContextStore;
use shared::contexts::requests::Limits;
use shared::conversation::service::Deps;
use shared::models::ModelCatalog;
use shared::providers::registry::Providers;
use shared::registered::dynamodb::DynamoDbRegistry;
use shared::registered::endpoint::EndpointPolicy;
use shared::tasks::dynamodb::DynamoDbTaskStore;
use shared::tasks::sqs::SqsTaskQueue;

use super::*;
use crate::http::test_support::{body_json, event_edited};

const TASK: &str = "task_01a20398582b88827d829519aa87";

/// The endpoint over stores whose clients point at a closed port: any I/O would fail the test.
fn endpoint() -> Endpoint<InMemoryAuditLog> {
    let nowhere = "http://127.0.0.1:9";
    let ddb = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(nowhere)
        .build();
    let ddb = aws_sdk_dynamodb::Client::from_conf(ddb);
    let sqs = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .endpoint_url(nowhere)
        .build();
    let queue = || format!("{nowhere}/queue");
    let catalog = ModelCatalog::builtin().unwrap();
    let deps = Deps {
        contexts: DynamoDbContextStore::new(ddb.clone(), "t".into()),
        tasks: DynamoDbTaskStore::new(ddb.clone(), "t".into()),
        queue: SqsTaskQueue::new(aws_sdk_sqs::Client::from_conf(sqs), queue(), queue(), queue()),
        providers: Providers::new(&catalog, &BTreeMap::new(), Duration::from_secs(1), None).unwrap(),
        default_model: "local-echo".into(),
        limits: Limits::default(),
        updates: None,
        metrics: None,
        tool_specs: None,
        tools: None,
    };
    let tools = super::super::tools::specs(&deps.limits, &["local-echo".into()], "local-echo").unwrap();
    let state = McpState {
        deps,
        tools,
        models: json!({}),
        registry: shared::registered::cache::Cached::new(
            DynamoDbRegistry::new(ddb, "t".into()),
            std::time::Duration::ZERO,
        ),
        tool_policy: EndpointPolicy {
            timeout: Duration::from_secs(1),
            allow_private: false,
        },
    };
    let audit = AuditDeps {
        log: InMemoryAuditLog::default(),
        ttl_days: 1,
    };
    service(Arc::new(state), &[], audit)
}

/// `POST /mcp` as `verdict`/`role` with `headers`, carrying `body`; the answer's status and JSON.
async fn post(
    endpoint: &Endpoint<InMemoryAuditLog>,
    verdict: &str,
    role: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> (u16, Value) {
    let req = event_edited("mcp", "initialize", |event| {
        let authorizer = &mut event["requestContext"]["authorizer"]["lambda"];
        authorizer["verdict"] = json!(verdict);
        authorizer["role"] = json!(role);
        authorizer["retry_after"] = json!("5");
        for (name, value) in headers {
            event["headers"][*name] = json!(value);
        }
        event["headers"].as_object_mut().unwrap().remove("content-length");
        event["body"] = json!(body.to_string());
    });
    let response = handle(endpoint, req).await.unwrap();
    (response.status().as_u16(), body_json(&response))
}

/// `POST /mcp` as an admin with `body` sent as is, and `headers` added.
async fn post_raw(endpoint: &Endpoint<InMemoryAuditLog>, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let req = event_edited("mcp", "initialize", |event| {
        for (name, value) in headers {
            event["headers"][*name] = json!(value);
        }
        event["headers"].as_object_mut().unwrap().remove("content-length");
        event["body"] = json!(body);
    });
    let response = handle(endpoint, req).await.unwrap();
    (response.status().as_u16(), body_json(&response))
}

/// The JSON-RPC error's code, and whether the answer is a JSON-RPC error response with a null id.
fn rpc_code(answer: &Value) -> (i64, bool) {
    let shaped = answer["jsonrpc"] == "2.0" && answer["id"].is_null() && answer["error"]["message"].is_string();
    (answer["error"]["code"].as_i64().unwrap_or_default(), shaped)
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_parse_error_at_http_400() {
    let (status, answer) = post_raw(&endpoint(), &[], "{\"jsonrpc\": \"2.0\", \"id\": 1,").await;
    assert_eq!((status, rpc_code(&answer)), (400, (-32700, true)), "{answer}");
    assert!(answer["error"]["data"]["request_id"].is_string(), "{answer}");
}

#[tokio::test]
async fn a_batch_or_a_value_that_is_no_jsonrpc_message_is_an_invalid_request_at_http_400() {
    let endpoint = endpoint();
    for body in [
        r#"[{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}]"#,
        r#"{"id": 1, "method": "tools/list"}"#,
        r#"{"jsonrpc": "1.0", "id": 1, "method": "tools/list"}"#,
        r#"{"jsonrpc": "2.0", "id": 1}"#,
        r#"{"jsonrpc": "2.0", "id": {"a": 1}, "method": "tools/list"}"#,
        r#"{"jsonrpc": "2.0", "id": null, "method": "tools/list"}"#,
        r#"{"jsonrpc": "2.0", "id": 1, "method": 7}"#,
        "42",
        "null",
    ] {
        let (status, answer) = post_raw(&endpoint, &[], body).await;
        assert_eq!((status, rpc_code(&answer)), (400, (-32600, true)), "{body}: {answer}");
    }
}

#[tokio::test]
async fn a_body_sent_as_anything_but_json_is_415_whatever_it_holds() {
    let headers = [("content-type", "text/plain")];
    let (status, answer) = post_raw(&endpoint(), &headers, "not json either").await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (415, &json!("UNSUPPORTED_MEDIA_TYPE")),
        "{answer}"
    );
}

/// The eras' protocol versions: 2025-06-18 and 2025-11-25 (initialize handshake), and 2026-07-28
/// (stateless: every request names its method in `Mcp-Method`, and its target in `Mcp-Name`).
const VERSIONS: [&str; 3] = ["2025-06-18", legacy_tasks::VERSION, "2026-07-28"];

/// `body` (method `method`, target `name`) posted as `version` says requests are sent.
async fn post_as(
    endpoint: &Endpoint<InMemoryAuditLog>,
    version: &str,
    method: &str,
    name: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let mut headers = vec![("mcp-protocol-version", version), ("mcp-method", method)];
    if let Some(name) = name {
        headers.push(("mcp-name", name));
    }
    // 2026-07-28 requests also carry the protocol version and client capabilities in `_meta`.
    let mut body: Value = serde_json::from_str(body).unwrap();
    if version == "2026-07-28" {
        let meta = json!({"io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientCapabilities": {}});
        match body.get_mut("params") {
            Some(Value::Object(params)) => {
                params.insert("_meta".into(), meta);
            }
            Some(_) => {}
            None => body["params"] = json!({"_meta": meta}),
        }
    }
    post_raw(endpoint, &headers, &body.to_string()).await
}

/// The HTTP status of a JSON-RPC error: `200` before 2026-07-28, which gives each its own status.
fn era_status(version: &str, stateless: u16) -> u16 {
    if version == "2026-07-28" {
        stateless
    } else {
        200
    }
}

#[tokio::test]
async fn an_unknown_method_is_32601_in_both_eras() {
    let endpoint = endpoint();
    let body = r#"{"jsonrpc": "2.0", "id": 5, "method": "no/such/method"}"#;
    for version in VERSIONS {
        let (status, answer) = post_as(&endpoint, version, "no/such/method", None, body).await;
        assert_eq!(
            (status, &answer["error"]["code"], &answer["id"]),
            (era_status(version, 404), &json!(-32601), &json!(5)),
            "{version}: {answer}"
        );
    }
}

#[tokio::test]
async fn a_method_served_by_no_handler_stays_32601_even_when_rmcp_knows_its_shape() {
    let endpoint = endpoint();
    let subscribe = r#"{"jsonrpc": "2.0", "id": 6, "method": "resources/subscribe", "params": {"uri": "docs://a"}}"#;
    for version in VERSIONS {
        let (status, answer) = post_as(&endpoint, version, "resources/subscribe", Some("docs://a"), subscribe).await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (era_status(version, 404), &json!(-32601)),
            "{version}: {answer}"
        );
    }
    // ping is the handshake era's: 2026-07-28 has none
    let ping = r#"{"jsonrpc": "2.0", "id": 7, "method": "ping"}"#;
    let (status, answer) = post_as(&endpoint, "2026-07-28", "ping", None, ping).await;
    assert_ne!(answer["error"]["code"], json!(-32602), "{status} {answer}");
}

#[tokio::test]
async fn params_of_the_wrong_shape_are_32602_in_both_eras() {
    let endpoint = endpoint();
    let bodies = [
        (
            "tools/call",
            Some("12"),
            r#"{"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": 12}}"#,
        ),
        (
            "prompts/get",
            None,
            r#"{"jsonrpc": "2.0", "id": 8, "method": "prompts/get", "params": []}"#,
        ),
        (
            "prompts/get",
            Some("x"),
            r#"{"jsonrpc": "2.0", "id": 8, "method": "prompts/get", "params": {"name": "x", "arguments": 3}}"#,
        ),
    ];
    for version in VERSIONS {
        for (method, name, body) in bodies {
            let (status, answer) = post_as(&endpoint, version, method, name, body).await;
            assert_eq!(
                (status, &answer["error"]["code"], &answer["id"]),
                (era_status(version, 400), &json!(-32602), &json!(8)),
                "{version} {body}: {answer}"
            );
            assert!(answer.get("result").is_none(), "{answer}");
        }
    }
    // The handshake's own params too, where there is a handshake.
    let body = r#"{"jsonrpc": "2.0", "id": 8, "method": "initialize", "params": {"protocolVersion": 7}}"#;
    let (status, answer) = post_as(&endpoint, legacy_tasks::VERSION, "initialize", None, body).await;
    assert_eq!((status, &answer["error"]["code"]), (200, &json!(-32602)), "{answer}");
    assert!(answer.get("result").is_none(), "{answer}");
}

#[tokio::test]
async fn an_unsupported_protocol_version_is_http_400_with_a_jsonrpc_error() {
    let body = r#"{"jsonrpc": "2.0", "id": 2, "method": "tools/list"}"#;
    let (status, answer) = post_raw(&endpoint(), &[("mcp-protocol-version", "1999-01-01")], body).await;
    assert_eq!((status, rpc_code(&answer)), (400, (-32600, true)), "{answer}");
}

async fn audited(endpoint: &Endpoint<InMemoryAuditLog>) -> Vec<AuditEntry> {
    endpoint.audit.log.list("local", 10, None).await.unwrap().entries
}

fn cancel_2025() -> Value {
    json!({"jsonrpc": "2.0", "id": 3, "method": "tasks/cancel", "params": {"taskId": TASK}})
}

#[tokio::test]
async fn a_viewers_tasks_cancel_of_2025_is_forbidden_and_audited_as_denied() {
    let endpoint = endpoint();
    let (status, answer) = post(&endpoint, "allowed", "viewer", &[], &cancel_2025()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["error"]["code"], access::FORBIDDEN.0, "{answer}");
    assert_eq!(answer["error"]["message"], "role viewer may not call tasks/cancel");
    assert_eq!(answer["error"]["data"]["route"], access::CANCEL_ROUTE);
    let seen: Vec<_> = audited(&endpoint)
        .await
        .into_iter()
        .map(|e| (e.action, e.target, e.outcome, e.status))
        .collect();
    let target = Some(format!("tasks/cancel {TASK}"));
    assert_eq!(seen, [("POST /mcp".to_owned(), target, Outcome::Denied, 403)]);
}

#[tokio::test]
async fn a_viewers_tasks_cancel_of_2026_is_forbidden_and_audited_as_denied() {
    let endpoint = endpoint();
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}});
    let body = json!({"jsonrpc": "2.0", "id": 4, "method": "tasks/cancel", "params": {"taskId": TASK, "_meta": meta}});
    let headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tasks/cancel"),
        ("mcp-name", TASK),
    ];
    let (status, answer) = post(&endpoint, "allowed", "viewer", &headers, &body).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (200, &json!(access::FORBIDDEN.0)),
        "{answer}"
    );
    let seen: Vec<_> = audited(&endpoint)
        .await
        .into_iter()
        .map(|e| (e.outcome, e.status))
        .collect();
    assert_eq!(seen, [(Outcome::Denied, 403)]);
}

#[tokio::test]
async fn a_viewers_cancel_task_tool_is_refused_for_its_role_before_its_arguments_are_read() {
    let endpoint = endpoint();
    for arguments in [json!({"task_id": TASK}), json!({"task_id": 42, "extra": true})] {
        let call = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
            "params": {"name": "cancel_task", "arguments": arguments}});
        let (_, answer) = post(&endpoint, "allowed", "viewer", &[], &call).await;
        assert_eq!(answer["result"]["isError"], true, "{answer}");
        assert_eq!(
            answer["result"]["content"][0]["text"],
            "role viewer may not call cancel_task"
        );
    }
    let seen: Vec<_> = audited(&endpoint)
        .await
        .into_iter()
        .map(|e| (e.target, e.outcome))
        .collect();
    let denied = (Some("tools/call cancel_task".to_owned()), Outcome::Denied);
    assert_eq!(seen, [denied.clone(), denied]);
}

#[tokio::test]
async fn a_malformed_task_id_is_refused_without_a_lookup_or_an_echo() {
    let endpoint = endpoint();
    let long = "task_".to_owned() + &"x#".repeat(5_000);
    let body = json!({"jsonrpc": "2.0", "id": 6, "method": "tasks/cancel", "params": {"taskId": long}});
    let (_, answer) = post(&endpoint, "allowed", "agent", &[], &body).await;
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    assert!(!answer.to_string().contains("x#x#"), "{answer}");
    let seen: Vec<_> = audited(&endpoint)
        .await
        .into_iter()
        .map(|e| (e.target, e.outcome, e.status))
        .collect();
    assert_eq!(seen, [(Some("tasks/cancel".to_owned()), Outcome::Failed, 400)]);
}

#[tokio::test]
async fn a_rate_limited_cancel_is_429_and_audited_as_denied() {
    let endpoint = endpoint();
    let (status, answer) = post(&endpoint, "rate_limited", "operator", &[], &cancel_2025()).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (429, &json!("RATE_LIMITED")),
        "{answer}"
    );
    let seen: Vec<_> = audited(&endpoint)
        .await
        .into_iter()
        .map(|e| (e.outcome, e.status))
        .collect();
    assert_eq!(seen, [(Outcome::Denied, 429)]);
}

#[test]
fn an_mcp_task_states_how_long_it_is_kept_and_an_older_task_that_it_is_kept_for_ever() {
    // GIVEN a task created at 10:00:00.250 and kept until 10:01:00, and one without an expiry
    let mut task: shared::tasks::model::Task = serde_json::from_value(json!({"task_id": TASK,
        "type": "ai.completion", "status": "pending", "priority": 5, "context_id": null, "user_id": null,
        "model_id": null, "created_at": "2026-11-22T10:00:00.250Z", "started_at": null, "finished_at": null,
        "attempts": 0, "provider": null, "model": null, "usage": null, "output": null, "error": null}))
    .unwrap();
    let older = task.clone();
    task.expires_at = Some(
        chrono::DateTime::parse_from_rfc3339("2026-11-22T10:01:00Z")
            .unwrap()
            .timestamp(),
    );
    // WHEN they are shown as MCP tasks
    // THEN the first has a ttl of the milliseconds from creation to expiry, the second none
    assert_eq!(mcp_task(&task).ttl_ms, Some(59_750));
    assert_eq!(mcp_task(&older).ttl_ms, None);
}

#[test]
fn the_metadata_fixture_names_the_mcp_resource_and_the_jwt_issuer_when_there_is_one() {
    let req = crate::http::test_support::event("mcp-metadata", "get");
    let with_issuer = protected_resource(&req, Some("https://issuer.example.com"));
    assert_eq!(with_issuer.status(), 200);
    let doc = body_json(&with_issuer);
    let host = req.headers()["host"].to_str().unwrap();
    assert_eq!(doc["resource"], format!("https://{host}/mcp"));
    assert_eq!(doc["authorization_servers"], json!(["https://issuer.example.com"]));
    assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    let keys_only = body_json(&protected_resource(&req, None));
    assert!(keys_only.get("authorization_servers").is_none(), "{keys_only}");
}

#[tokio::test]
async fn logging_set_level_is_answered_empty_in_each_era() {
    let endpoint = endpoint();
    let set_level = r#"{"jsonrpc": "2.0", "id": 9, "method": "logging/setLevel", "params": {"level": "info"}}"#;
    for version in VERSIONS {
        let (status, answer) = post_as(&endpoint, version, "logging/setLevel", None, set_level).await;
        assert_eq!((status, &answer["result"]), (200, &json!({})), "{version}: {answer}");
    }
}
