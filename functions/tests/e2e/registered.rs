//! Registered tools, prompts and resources: the REST API, and the same items through MCP for their
//! tenant only, after the built-in ones.

use serde_json::{json, Value};

use crate::auth_matrix::{bearer, jwt, secret};
use crate::conversation::{get, post};
use crate::helpers::{fresh_tenant, gateway_url, http, send_json, tool_endpoint, Credential};

async fn rpc(caller: &Credential, method: &str, params: &Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let request = http()
        .post(format!("{}/mcp", gateway_url()))
        .header(caller.0, &caller.1)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&body);
    send_json(request).await.1
}

fn names(list: &Value, field: &str) -> Vec<String> {
    list["result"][field]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn register(caller: &Credential) {
    let tool = json!({"name": "weather", "description": "Weather by city", "endpoint": tool_endpoint(),
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
            "additionalProperties": false}});
    let prompt = json!({"name": "greet", "description": "A greeting", "template": "Write a greeting for {{who}}.",
        "arguments": [{"name": "who", "description": "Who to greet", "required": true}]});
    let resource = json!({"uri": "docs://style", "name": "Style guide", "mime_type": "application/json",
        "content": {"tone": "plain"}});
    for (path, body) in [
        ("/api/v1/tools", tool),
        ("/api/v1/prompts", prompt),
        ("/api/v1/resources", resource),
    ] {
        let (status, created) = post(caller, path, &body).await;
        assert_eq!(status, 201, "{path}: {created}");
    }
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn registered_items_are_served_by_rest_and_by_mcp_to_their_tenant_only() {
    // GIVEN an operator of one tenant who registers a tool, a prompt and a resource
    let caller = bearer(&jwt(&fresh_tenant("reg"), "operator", &json!({}), &secret()));
    let stranger = bearer(&jwt(&fresh_tenant("reg-other"), "operator", &json!({}), &secret()));
    register(&caller).await;
    // THEN REST executes the tool (its endpoint gets the arguments) and renders the prompt
    let (status, ran) = post(
        &caller,
        "/api/v1/tools/weather/execute",
        &json!({"arguments": {"city": "Paris"}}),
    )
    .await;
    assert_eq!(
        (status, &ran["result"]),
        (200, &json!({"echo": {"city": "Paris"}})),
        "{ran}"
    );
    let (status, bad) = post(
        &caller,
        "/api/v1/tools/weather/execute",
        &json!({"arguments": {"town": 1}}),
    )
    .await;
    assert_eq!(
        (status, bad["error"]["details"]["field"].as_str()),
        (400, Some("arguments")),
        "{bad}"
    );
    let (_, rendered) = post(
        &caller,
        "/api/v1/prompts/greet/generate",
        &json!({"arguments": {"who": "Ada"}}),
    )
    .await;
    assert_eq!(rendered["messages"][0]["content"]["text"], "Write a greeting for Ada.");
    let (status, resource) = get(&caller, "/api/v1/resources/docs%3A%2F%2Fstyle").await;
    assert_eq!((status, &resource["content"]), (200, &json!({"tone": "plain"})));
    // AND MCP lists them after the built-in ones, for this tenant only
    let tools = names(&rpc(&caller, "tools/list", &json!({})).await, "tools");
    assert_eq!(tools.last().map(String::as_str), Some("weather"), "{tools:?}");
    assert!(!names(&rpc(&stranger, "tools/list", &json!({})).await, "tools").contains(&"weather".to_owned()));
    let prompts = names(&rpc(&caller, "prompts/list", &json!({})).await, "prompts");
    assert_eq!(prompts.last().map(String::as_str), Some("greet"));
    // AND tools/call checks the arguments before calling the endpoint
    let called = rpc(
        &caller,
        "tools/call",
        &json!({"name": "weather", "arguments": {"city": "Oslo"}}),
    )
    .await;
    assert_eq!(
        called["result"]["structuredContent"],
        json!({"echo": {"city": "Oslo"}}),
        "{called}"
    );
    let refused = rpc(&caller, "tools/call", &json!({"name": "weather", "arguments": {}})).await;
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    let other = rpc(
        &stranger,
        "tools/call",
        &json!({"name": "weather", "arguments": {"city": "Oslo"}}),
    )
    .await;
    assert_eq!(other["error"]["code"], -32602, "another tenant's tool: {other}");
    let read = rpc(&caller, "resources/read", &json!({"uri": "docs://style"})).await;
    assert_eq!(
        read["result"]["contents"][0]["text"],
        json!({"tone": "plain"}).to_string()
    );
    let prompt = rpc(&caller, "prompts/get", &json!({"name": "greet", "arguments": {}})).await;
    assert_eq!(prompt["error"]["code"], -32602, "a missing required argument: {prompt}");
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn bad_registrations_are_400s_naming_the_field_and_duplicates_409() {
    let caller = bearer(&jwt(&fresh_tenant("regbad"), "operator", &json!({}), &secret()));
    let cases = [
        (
            "/api/v1/tools",
            json!({"name": "t", "description": "d", "endpoint": "ftp://x", "input_schema": {"type": "object"}}),
            "endpoint",
        ),
        (
            "/api/v1/tools",
            json!({"name": "t", "description": "d", "endpoint": "https://x.example", "input_schema": {"type": "nope"}}),
            "input_schema",
        ),
        (
            "/api/v1/tools",
            json!({"name": "t", "description": "d", "endpoint": "https://x.example",
                "input_schema": {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}}),
            "input_schema",
        ),
        (
            "/api/v1/tools",
            json!({"name": "create_task", "description": "d"}),
            "name",
        ),
        (
            "/api/v1/prompts",
            json!({"name": "p", "template": "{{undeclared}}"}),
            "template",
        ),
        (
            "/api/v1/resources",
            json!({"uri": "data://tasks/schema", "name": "n", "content": "x"}),
            "uri",
        ),
    ];
    for (path, body, field) in cases {
        let (status, err) = post(&caller, path, &body).await;
        assert_eq!(
            (status, err["error"]["details"]["field"].as_str()),
            (400, Some(field)),
            "{path} {body}: {err}"
        );
    }
    let (_, listed) = get(&caller, "/api/v1/tools").await;
    assert_eq!(listed["tools"], json!([]), "nothing may be stored");
    register(&caller).await;
    let (status, dup) = post(&caller, "/api/v1/prompts", &json!({"name": "greet", "template": "x"})).await;
    assert_eq!(
        (status, dup["error"]["code"].as_str()),
        (409, Some("ALREADY_REGISTERED")),
        "{dup}"
    );
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_failing_endpoint_is_a_502_over_rest_and_an_error_result_over_mcp() {
    // GIVEN a tool whose endpoint nothing answers (port 9 on loopback; the local stack allows it)
    let caller = bearer(&jwt(&fresh_tenant("regdown"), "operator", &json!({}), &secret()));
    let tool = json!({"name": "down", "description": "Never answers", "endpoint": "http://127.0.0.1:9/x",
        "input_schema": {"type": "object"}});
    let (status, created) = post(&caller, "/api/v1/tools", &tool).await;
    assert_eq!(status, 201, "{created}");
    // WHEN it is called over REST, THEN it is a 502 saying the endpoint failed
    let (status, failed) = post(&caller, "/api/v1/tools/down/execute", &json!({"arguments": {}})).await;
    assert_eq!(
        (status, failed["error"]["code"].as_str()),
        (502, Some("TOOL_ENDPOINT_FAILED")),
        "{failed}"
    );
    // AND over MCP it is an error result the model can read
    let called = rpc(&caller, "tools/call", &json!({"name": "down", "arguments": {}})).await;
    assert_eq!(called["result"]["isError"], true, "{called}");
}
