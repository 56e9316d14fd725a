//! The MCP endpoint's refusals, over real HTTP through the gateway: each bad request gets the spec's
//! error, and nothing is written. (The happy paths run with the official clients in `infra/mcp/`.)

use serde_json::{json, Value};

use crate::auth_matrix::{bearer, jwt, secret};
use crate::conversation::get;
use crate::helpers::{fresh_tenant, gateway_url, http, Credential};

/// POSTs `body` to `/mcp` with the usual MCP headers, overridden by `headers`; status, headers, JSON.
async fn post_mcp(
    caller: &Credential,
    body: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut sent = reqwest::header::HeaderMap::new();
    let defaults = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    for (k, v) in defaults.iter().chain(headers) {
        let name: reqwest::header::HeaderName = k.parse().unwrap();
        sent.insert(name, v.parse().unwrap());
    }
    let request = http()
        .post(format!("{}/mcp", gateway_url()))
        .header(caller.0, &caller.1)
        .headers(sent);
    let response = request.body(body.to_owned()).send().await.unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn call(name: &str, arguments: &Value) -> String {
    json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
        .to_string()
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn bad_mcp_requests_get_the_specs_errors_and_write_nothing() {
    let caller = bearer(&jwt(&fresh_tenant("mcpbad"), "operator", &json!({}), &secret()));
    // Schema-violating arguments: a tool error the model can act on, naming the field.
    let (status, _, body) = post_mcp(
        &caller,
        &call("create_task", &json!({"prompt": "x", "priority": 11})),
        &[],
    )
    .await;
    assert_eq!(
        (status, body["result"]["isError"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    assert!(
        body["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("/priority"),
        "{body}"
    );
    // An unknown tool is invalid params; an unknown resource is resource-not-found.
    let (_, _, body) = post_mcp(&caller, &call("no_such_tool", &json!({})), &[]).await;
    assert_eq!(body["error"]["code"], -32602, "{body}");
    let read = json!({"jsonrpc": "2.0", "id": 8, "method": "resources/read", "params": {"uri": "data://nope"}});
    let (_, _, body) = post_mcp(&caller, &read.to_string(), &[]).await;
    assert_eq!(body["error"]["code"], -32002, "{body}");
    // A prompt without its required argument is invalid params.
    let prompt = json!({"jsonrpc": "2.0", "id": 9, "method": "prompts/get", "params": {"name": "system_health"}});
    let (_, _, body) = post_mcp(&caller, &prompt.to_string(), &[]).await;
    assert_eq!(body["error"]["code"], -32602, "{body}");
    // A request over the size limit is 413 in the envelope.
    let huge = call("create_task", &json!({"prompt": "x".repeat(1024 * 1024)}));
    let (status, _, body) = post_mcp(&caller, &huge, &[]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("BODY_TOO_LARGE")),
        "{body}"
    );
    // An unsupported protocol version header is a 400.
    let ping = json!({"jsonrpc": "2.0", "id": 10, "method": "ping"}).to_string();
    let (status, _, body) = post_mcp(&caller, &ping, &[("mcp-protocol-version", "1999-01-01")]).await;
    assert_eq!(status, 400, "{body}");
    // Missing Accept or a foreign Origin are refused by the transport, in the envelope.
    let (status, _, body) = post_mcp(&caller, &ping, &[("accept", "text/plain")]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (406, Some("NOT_ACCEPTABLE")),
        "{body}"
    );
    let (status, _, body) = post_mcp(&caller, &ping, &[("origin", "https://evil.example")]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("FORBIDDEN_ORIGIN")),
        "{body}"
    );
    // AND nothing was written for this tenant
    let (_, tasks) = get(&caller, "/api/v1/mcp/tasks").await;
    assert_eq!(tasks["tasks"], json!([]), "{tasks}");
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn jsonrpc_errors_carry_the_specs_codes_and_statuses_in_both_eras() {
    let caller = bearer(&jwt(&fresh_tenant("mcprpc"), "operator", &json!({}), &secret()));
    let long_task = "task_".to_owned() + &"7".repeat(3000);
    let request =
        |id: i64, method: &str, params: Value| json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    // (method, body, JSON-RPC code, id answered); a body that is not JSON, or no JSON-RPC message, is
    // refused before its era is read.
    let cases: Vec<(&str, Value, i64, Value)> = vec![
        (
            "ping",
            json!("{\"jsonrpc\": \"2.0\", \"id\": 1, \"meth"),
            -32700,
            Value::Null,
        ),
        ("ping", json!([request(1, "ping", json!({}))]), -32600, Value::Null),
        ("ping", json!({"id": 1, "method": "ping"}), -32600, Value::Null),
        (
            "no/such/method",
            request(2, "no/such/method", json!({})),
            -32601,
            json!(2),
        ),
        (
            "tools/call",
            request(3, "tools/call", json!({"name": 5})),
            -32602,
            json!(3),
        ),
        (
            "prompts/get",
            request(4, "prompts/get", json!({"name": "p", "arguments": 3})),
            -32602,
            json!(4),
        ),
        (
            "tasks/get",
            request(5, "tasks/get", json!({"taskId": long_task})),
            -32602,
            json!(5),
        ),
        (
            "tasks/cancel",
            request(6, "tasks/cancel", json!({"taskId": long_task})),
            -32602,
            json!(6),
        ),
    ];
    for era in ["2025-06-18", "2025-11-25", "2026-07-28"] {
        let stateless = era == "2026-07-28";
        for (method, body, code, id) in &cases {
            // Tasks came with 2025-11-25 (and in 2026-07-28 are an extension the client declares).
            if method.starts_with("tasks/") && era == "2025-06-18" {
                continue;
            }
            // 2026-07-28 requests name their method in a header and carry the era in `_meta`.
            let mut body = body.clone();
            if stateless && body["params"].is_object() {
                body["params"]["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": era,
                    "io.modelcontextprotocol/clientCapabilities":
                        {"extensions": {"io.modelcontextprotocol/tasks": {}}}});
            }
            let text = body.as_str().map_or_else(|| body.to_string(), str::to_owned);
            let mut headers = vec![("mcp-protocol-version", era), ("mcp-method", *method)];
            let params = &body["params"];
            let name = params["name"].as_str().or(params["taskId"].as_str()).map(str::to_owned);
            if let Some(name) = &name {
                headers.push(("mcp-name", name));
            }
            let (got, _, answer) = post_mcp(&caller, &text, &headers).await;
            // 2026-07-28 gives an error found before dispatch its own status (404 for an unknown
            // method, 400 for params that do not parse); a handler's error stays a 200.
            let status = match (*code, stateless) {
                (-32700 | -32600, _) => 400,
                (_, false) => 200,
                (-32601, true) => 404,
                (_, true) if method.starts_with("tasks/") => 200,
                (_, true) => 400,
            };
            let shown = &text[..text.len().min(80)];
            assert_eq!(
                (
                    got,
                    answer["jsonrpc"].as_str(),
                    answer["error"]["code"].as_i64(),
                    &answer["id"]
                ),
                (status, Some("2.0"), Some(*code), id),
                "{era} {shown}: {answer}"
            );
            let text = answer.to_string();
            // No internals and no echo of unbounded input.
            for leak in ["777777777777", "aws_sdk", "RequestId", "x-amz", "dispatch"] {
                assert!(!text.contains(leak), "{era} {shown}: {text}");
            }
        }
    }
    // An unsupported protocol version: HTTP 400 with a JSON-RPC error, not the REST envelope.
    let ping = json!({"jsonrpc": "2.0", "id": 10, "method": "ping"}).to_string();
    let (status, _, answer) = post_mcp(&caller, &ping, &[("mcp-protocol-version", "1999-01-01")]).await;
    assert_eq!(
        (status, answer["error"]["code"].as_i64()),
        (400, Some(-32600)),
        "{answer}"
    );
    // A body not sent as JSON is the only 415.
    let (status, _, answer) = post_mcp(&caller, &ping, &[("content-type", "text/plain")]).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (415, Some("UNSUPPORTED_MEDIA_TYPE")),
        "{answer}"
    );
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_viewer_may_read_but_not_create_and_get_and_delete_are_405() {
    let viewer = bearer(&jwt(&fresh_tenant("mcpview"), "viewer", &json!({}), &secret()));
    let (status, _, body) = post_mcp(&viewer, &call("create_task", &json!({"prompt": "hi"})), &[]).await;
    assert_eq!(
        (status, body["result"]["isError"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    assert!(body["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("may not call create_task"));
    let (_, _, body) = post_mcp(&viewer, &call("list_tasks", &json!({})), &[]).await;
    assert_eq!(body["result"]["structuredContent"]["tasks"], json!([]), "{body}");
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let response = http()
            .request(method, format!("{}/mcp", gateway_url()))
            .header(viewer.0, &viewer.1)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405);
        assert_eq!(response.headers()["allow"], "POST");
    }
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn without_credentials_the_challenge_points_at_the_protected_resource_metadata() {
    let response = http()
        .post(format!("{}/mcp", gateway_url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.contains("/.well-known/oauth-protected-resource/mcp"),
        "{challenge}"
    );
    let metadata: Value = http()
        .get(format!("{}/.well-known/oauth-protected-resource/mcp", gateway_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["resource"], format!("{}/mcp", gateway_url()));
    let issuer = std::env::var("MCPFLOW_TEST_JWT_ISSUER").unwrap();
    assert_eq!(metadata["authorization_servers"][0], issuer.as_str());
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn mutating_tool_calls_are_audited_and_reads_are_not() {
    let admin = bearer(&jwt(&fresh_tenant("mcpaudit"), "admin", &json!({}), &secret()));
    post_mcp(&admin, &call("create_task", &json!({"prompt": "audited"})), &[]).await;
    post_mcp(&admin, &call("create_task", &json!({"prompt": ""})), &[]).await;
    post_mcp(&admin, &call("list_tasks", &json!({})), &[]).await;
    let (_, page) = get(&admin, "/api/v1/audit").await;
    let seen: Vec<(String, String)> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["target"].as_str().unwrap_or_default().to_owned(),
                e["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("tools/call create_task".to_owned(), "failed".to_owned()),
            ("tools/call create_task".to_owned(), "succeeded".to_owned())
        ],
        "{page}"
    );
}
