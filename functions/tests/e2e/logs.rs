//! `GET /api/v1/logs` through the local gateway: a tenant's requests, denials, task transitions and a
//! provider's fallback are events of that tenant only, newest first, filtered by kind and level, and
//! none repeats a credential or a query string.

use serde_json::{json, Value};

use crate::auth_matrix::{bearer, jwt, secret};
use crate::conversation::{finished, get, post};
use crate::helpers::{fresh_tenant, Credential};

async fn events(caller: &Credential, query: &str) -> Vec<Value> {
    let (status, page) = get(caller, &format!("/api/v1/logs{query}")).await;
    assert_eq!(status, 200, "{page}");
    page["events"].as_array().unwrap().clone()
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_tenants_requests_denials_and_tasks_are_its_events_newest_first() {
    // GIVEN a tenant whose operator makes a request, a bad one, and a prompt on a model whose provider
    // is down (answered by its fallback), and whose viewer is refused a key
    let tenant = fresh_tenant("logs");
    let token = jwt(&tenant, "operator", &json!({}), &secret());
    let operator = bearer(&token);
    let viewer = bearer(&jwt(&tenant, "viewer", &json!({}), &secret()));
    assert_eq!(get(&operator, "/api/v1/summary").await.0, 200);
    assert_eq!(get(&operator, "/api/v1/mcp/tasks?status=sleeping").await.0, 400);
    assert_eq!(
        post(&viewer, "/api/v1/keys", &json!({"name": "x", "role": "admin"}))
            .await
            .0,
        403
    );
    let (status, created) = post(
        &operator,
        "/api/v1/mcp/contexts",
        &json!({"model_id": "down-then-local"}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let context = created["context_id"].as_str().unwrap();
    let (status, asked) = post(
        &operator,
        &format!("/api/v1/mcp/contexts/{context}/prompt"),
        &json!({"prompt": "hi"}),
    )
    .await;
    assert_eq!(status, 202, "{asked}");
    let task_id = asked["task_id"].as_str().unwrap();
    assert_eq!(finished(&operator, task_id).await["status"], "completed");

    // WHEN the operator reads its logs
    let all = events(&operator, "?limit=100").await;
    // THEN each request is there, newest first, with its route template, status and code
    let ids: Vec<&str> = all.iter().map(|e| e["event_id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted);
    let bad = all
        .iter()
        .find(|e| e["fields"]["status"] == 400)
        .unwrap_or_else(|| panic!("{all:?}"));
    assert_eq!(bad["fields"]["route"], "GET /api/v1/mcp/tasks");
    assert_eq!(
        (bad["level"].as_str(), bad["kind"].as_str()),
        (Some("warn"), Some("request"))
    );
    assert_eq!(bad["fields"]["code"], "INVALID_REQUEST");
    // AND the viewer's refusal is a denial
    let denials = events(&operator, "?kind=denial").await;
    assert_eq!(denials.len(), 1, "{denials:?}");
    assert_eq!(denials[0]["fields"]["route"], "POST /api/v1/keys");
    assert_eq!(denials[0]["fields"]["code"], "FORBIDDEN");
    // AND the task's start and finish are task events, its fallback a provider warning (the worker
    // records them just after the task's finish is stored: read until they are there, up to 10 s)
    let mut tasks = Vec::new();
    for _ in 0..50 {
        tasks = events(&operator, "?kind=task").await;
        if tasks
            .iter()
            .any(|e| e["fields"]["task_id"] == task_id && e["fields"]["status"] == "completed")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let statuses: Vec<&str> = tasks
        .iter()
        .filter(|e| e["fields"]["task_id"] == task_id)
        .map(|e| e["fields"]["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"completed") && statuses.contains(&"running"),
        "{tasks:?}"
    );
    let provider = events(&operator, "?kind=provider&level=warn").await;
    assert!(
        provider
            .iter()
            .any(|e| e["fields"]["task_id"] == task_id && e["fields"]["requested_provider"] == "down"),
        "{provider:?}"
    );
    // AND a time window and a level narrow it
    let none = events(&operator, "?until=2000-01-01T00:00:00Z").await;
    assert!(none.is_empty(), "{none:?}");
    assert!(events(&operator, "?level=error").await.is_empty());
    // AND nothing repeats the caller's token or a query string
    let text = serde_json::to_string(&all).unwrap();
    assert!(!text.contains(&token) && !text.contains("sleeping"), "{text}");

    // AND another tenant sees none of it; a viewer may not read logs
    let other = bearer(&jwt(&fresh_tenant("logs-other"), "admin", &json!({}), &secret()));
    let theirs = events(&other, "").await;
    assert!(theirs.iter().all(|e| !e.to_string().contains(&tenant)), "{theirs:?}");
    assert!(theirs.iter().all(|e| e["fields"]["task_id"] != task_id));
    assert_eq!(get(&viewer, "/api/v1/logs").await.0, 403);
    // AND a bad filter is 400 naming it
    let (status, refused) = get(&operator, "/api/v1/logs?level=loud").await;
    assert_eq!(
        (status, refused["error"]["details"]["field"].as_str()),
        (400, Some("level"))
    );
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn mcp_requests_are_events_with_their_method_tool_and_error() {
    // GIVEN an operator who lists tools over MCP, calls one, and calls one that does not exist
    let tenant = fresh_tenant("logs-mcp");
    let operator = bearer(&jwt(&tenant, "operator", &json!({}), &secret()));
    let rpc = |method: &str, params: Value| {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        crate::helpers::http()
            .post(format!("{}/mcp", crate::helpers::gateway_url()))
            .header(operator.0, &operator.1)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .json(&body)
    };
    for request in [
        rpc("tools/list", json!({})),
        rpc("tools/call", json!({"name": "list_tasks", "arguments": {}})),
        rpc("tools/call", json!({"name": "no_such_tool", "arguments": {}})),
    ] {
        let (status, _) = crate::helpers::send_json(request).await;
        assert_eq!(status, 200);
    }
    // THEN each is a request event of POST /mcp naming its method (and tool), the unknown tool's
    // with its JSON-RPC error code
    let all = events(&operator, "?kind=request").await;
    let mcp: Vec<&Value> = all.iter().filter(|e| e["fields"]["route"] == "POST /mcp").collect();
    assert_eq!(mcp.len(), 3, "{all:?}");
    let seen = |method: &str, tool: Option<&str>| {
        mcp.iter()
            .find(|e| e["fields"]["mcp_method"] == method && e["fields"]["tool"].as_str() == tool)
            .unwrap_or_else(|| panic!("no {method} {tool:?} in {mcp:?}"))
    };
    assert_eq!(seen("tools/list", None)["fields"]["status"], 200);
    assert!(seen("tools/call", Some("list_tasks"))["fields"]["code"].is_null());
    assert_eq!(
        seen("tools/call", Some("no_such_tool"))["fields"]["code"],
        "JSONRPC_-32602"
    );
    // AND another tenant sees none of them
    let stranger = bearer(&jwt(&fresh_tenant("logs-mcp-other"), "operator", &json!({}), &secret()));
    let theirs = events(&stranger, "").await;
    assert!(theirs.iter().all(|e| e["fields"]["route"] != "POST /mcp"), "{theirs:?}");
}
