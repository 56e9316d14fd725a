//! A small MCP client for the end-to-end tests: one JSON-RPC request per call, in either protocol era,
//! with the headers and `_meta` each era asks for, as a caller of a chosen tenant and role.

use serde_json::{json, Value};
use shared::auth::Role;

use crate::auth_matrix::{bearer, jwt, secret};
use crate::helpers::{gateway_url, http, send_json, Credential};

pub(crate) const LEGACY: &str = "2025-11-25";
pub(crate) const MODERN: &str = "2026-07-28";
/// The JSON-RPC error of a role that may not use a method.
pub(crate) const FORBIDDEN: i64 = -32003;

/// A caller of `tenant` as `role` with a subject of its own per `label`: its audit entries can be
/// told apart, and it stays far inside its role's rate limit (viewers get 20 a minute in the test stack).
pub(crate) fn caller(tenant: &str, role: Role, label: &str) -> (Credential, String) {
    let subject = format!("{role}-{label}@{tenant}");
    let token = jwt(tenant, role.as_str(), &json!({ "sub": subject }), &secret());
    (bearer(&token), subject)
}

/// One JSON-RPC request to `/mcp` in `era`, with the headers and `_meta` that era asks for.
pub(crate) async fn rpc(caller: &Credential, era: &str, method: &str, mut params: Value) -> Value {
    let mut request = http()
        .post(format!("{}/mcp", gateway_url()))
        .header(caller.0, &caller.1)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", era);
    if era == MODERN {
        let name = ["name", "uri", "taskId"]
            .iter()
            .find_map(|k| params[*k].as_str().map(str::to_owned));
        request = request.header("mcp-method", method);
        if let Some(name) = name {
            request = request.header("mcp-name", name);
        }
        params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}});
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let (status, answer) = send_json(request.json(&body)).await;
    assert_eq!(status, 200, "{method} ({era}): {answer}");
    answer
}

pub(crate) fn tool(name: &str, arguments: Value) -> Value {
    json!({"name": name, "arguments": arguments})
}

/// The error message, or the text of an `isError` tool result.
pub(crate) fn message(answer: &Value) -> String {
    let text = answer["error"]["message"].as_str();
    let text = text.or_else(|| answer["result"]["content"][0]["text"].as_str());
    text.unwrap_or_default().to_owned()
}

/// Whether `answer` is the refusal of `role`: a tool's `isError`, or JSON-RPC `FORBIDDEN`.
pub(crate) fn refused(answer: &Value, method: &str, role: Role) -> bool {
    let named = message(answer).starts_with(&format!("role {role} may not call"));
    match method {
        "tools/call" => answer["result"]["isError"] == true && named,
        _ => answer["error"]["code"] == FORBIDDEN && answer["error"]["data"]["code"] == "FORBIDDEN" && named,
    }
}

/// A task created with the `create_task` tool; its id.
pub(crate) async fn created_task(caller: &Credential) -> String {
    let call = tool("create_task", json!({"prompt": "a task to point at"}));
    let created = rpc(caller, LEGACY, "tools/call", call).await;
    let id = created["result"]["structuredContent"]["task_id"].as_str();
    id.unwrap_or_else(|| panic!("no task created: {created}")).to_owned()
}
