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

/// The JSON-RPC messages of an MCP answer: the one JSON body, or each `data:` of an event stream.
async fn rpc_messages(caller: &Credential, method: &str, params: &Value) -> (String, Vec<Value>) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let response = http()
        .post(format!("{}/mcp", gateway_url()))
        .header(caller.0, &caller.1)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&body)
        .send()
        .await
        .unwrap();
    let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
    let text = response.text().await.unwrap();
    let messages = if kind.starts_with("text/event-stream") {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter(|d| !d.trim().is_empty())
            .map(|d| serde_json::from_str(d.trim()).unwrap())
            .collect()
    } else {
        vec![serde_json::from_str(&text).unwrap()]
    };
    (kind, messages)
}

fn notes<'a>(messages: &'a [Value], method: &str) -> Vec<&'a Value> {
    messages
        .iter()
        .filter(|m| m["method"] == method)
        .map(|m| &m["params"])
        .collect()
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn an_mcp_tool_streams_progress_with_the_callers_token_and_logs_at_the_callers_level() {
    // GIVEN a tool whose endpoint answers MCP results after NDJSON notifications
    let caller = bearer(&jwt(&fresh_tenant("reg-mcp"), "operator", &json!({}), &secret()));
    let stranger = bearer(&jwt(&fresh_tenant("reg-mcp-other"), "operator", &json!({}), &secret()));
    let endpoint = tool_endpoint().replace("/tool", "/mcp-tool");
    let tool = json!({"name": "steps", "description": "Reports its steps", "endpoint": endpoint,
        "answer_format": "mcp", "input_schema": {"type": "object", "properties": {"fail": {"type": "boolean"}}}});
    let (status, created) = post(&caller, "/api/v1/tools", &tool).await;
    assert_eq!((status, &created["answer_format"]), (201, &json!("mcp")), "{created}");
    // WHEN it is called with a progress token and the warning log level
    let meta = json!({"progressToken": "p-7", "io.modelcontextprotocol/logLevel": "warning"});
    let params = json!({"name": "steps", "arguments": {}, "_meta": meta});
    let (kind, messages) = rpc_messages(&caller, "tools/call", &params).await;
    // THEN the answer is an event stream: both progress notifications with the caller's token, only
    // the warning, then the endpoint's content blocks as they were
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    let progress = notes(&messages, "notifications/progress");
    assert_eq!(progress.len(), 2, "{messages:?}");
    assert!(progress.iter().all(|p| p["progressToken"] == "p-7"), "{progress:?}");
    assert_eq!(
        (progress[0]["progress"].as_f64(), progress[1]["message"].as_str()),
        (Some(1.0), Some("half"))
    );
    let logs = notes(&messages, "notifications/message");
    assert_eq!(
        logs.iter().map(|l| l["data"].clone()).collect::<Vec<_>>(),
        vec![json!("slow")]
    );
    let result = &messages.last().unwrap()["result"];
    assert_eq!(result["content"][1]["type"], "image", "{result}");
    assert_ne!(result["isError"], true);
    // AND without a token or a level: no progress, every log message
    let (_, messages) = rpc_messages(&caller, "tools/call", &json!({"name": "steps", "arguments": {}})).await;
    assert!(notes(&messages, "notifications/progress").is_empty(), "{messages:?}");
    assert_eq!(notes(&messages, "notifications/message").len(), 2);
    // AND the endpoint's own isError result is passed on as an error result
    let (_, messages) = rpc_messages(
        &caller,
        "tools/call",
        &json!({"name": "steps", "arguments": {"fail": true}}),
    )
    .await;
    let failed = &messages.last().unwrap()["result"];
    assert_eq!(
        (failed["isError"].as_bool(), failed["content"][0]["text"].as_str()),
        (Some(true), Some("the tool failed on purpose"))
    );
    // AND logging/setLevel is answered {}, and another tenant has no such tool
    let set = rpc(&caller, "logging/setLevel", &json!({"level": "debug"})).await;
    assert_eq!(set["result"], json!({}), "{set}");
    let foreign = rpc(&stranger, "tools/call", &json!({"name": "steps", "arguments": {}})).await;
    assert!(
        foreign["error"]["message"].as_str().unwrap().contains("unknown tool"),
        "{foreign}"
    );
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn templates_binary_resources_and_prompts_of_content_blocks_are_served_by_mcp_to_their_tenant() {
    // GIVEN a resource template, a binary resource and a prompt of an image and an embedded resource
    let caller = bearer(&jwt(&fresh_tenant("reg-rich"), "operator", &json!({}), &secret()));
    let stranger = bearer(&jwt(&fresh_tenant("reg-rich-other"), "operator", &json!({}), &secret()));
    let png = "iVBORw0KGgo=";
    for (path, body) in [
        (
            "/api/v1/resources",
            json!({"uri_template": "items://{id}/data", "name": "Item", "mime_type": "application/json",
            "content": "{\"id\": \"{{id}}\"}"}),
        ),
        (
            "/api/v1/resources",
            json!({"uri": "items://logo", "name": "Logo", "mime_type": "image/png", "blob": png}),
        ),
        (
            "/api/v1/prompts",
            json!({"name": "inspect", "arguments": [{"name": "item", "required": true,
            "values": ["items://1/data", "items://2/data", "other://x"]}],
            "messages": [{"role": "user", "content": {"type": "image", "data": png, "mimeType": "image/png"}},
                {"role": "user", "content": {"type": "resource", "resource": {"uri": "{{item}}", "text": "see {{item}}"}}}]}),
        ),
    ] {
        let (status, created) = post(&caller, path, &body).await;
        assert_eq!(status, 201, "{path}: {created}");
    }
    // THEN MCP lists the template apart from the resources, and reads through it with the value filled
    let templates = rpc(&caller, "resources/templates/list", &json!({})).await;
    let uris: Vec<&Value> = templates["result"]["resourceTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["uriTemplate"])
        .collect();
    assert!(uris.contains(&&json!("items://{id}/data")), "{templates}");
    let listed = rpc(&caller, "resources/list", &json!({})).await;
    assert!(!listed.to_string().contains("items://{id}/data"), "{listed}");
    let read = rpc(&caller, "resources/read", &json!({"uri": "items://42/data"})).await;
    assert_eq!(
        read["result"]["contents"][0],
        json!({"uri": "items://42/data", "mimeType": "application/json", "text": "{\"id\": \"42\"}"})
    );
    // (a value is percent-decoded from the URI, and JSON-escaped in JSON text)
    let read = rpc(&caller, "resources/read", &json!({"uri": "items://a%22b%20c/data"})).await;
    assert_eq!(
        read["result"]["contents"][0]["text"], "{\"id\": \"a\\\"b c\"}",
        "{read}"
    );
    let read = rpc(&caller, "resources/read", &json!({"uri": "items://logo"})).await;
    assert_eq!(read["result"]["contents"][0]["blob"], png, "{read}");
    // AND the prompt renders its blocks, and completion offers its argument's values by prefix
    let got = rpc(
        &caller,
        "prompts/get",
        &json!({"name": "inspect", "arguments": {"item": "items://2/data"}}),
    )
    .await;
    let messages = &got["result"]["messages"];
    assert_eq!(
        (
            messages[0]["content"]["type"].as_str(),
            messages[1]["content"]["resource"]["text"].as_str()
        ),
        (Some("image"), Some("see items://2/data")),
        "{got}"
    );
    let complete = rpc(
        &caller,
        "completion/complete",
        &json!({"ref": {"type": "ref/prompt", "name": "inspect"},
        "argument": {"name": "item", "value": "items://"}}),
    )
    .await;
    assert_eq!(
        complete["result"]["completion"]["values"],
        json!(["items://1/data", "items://2/data"]),
        "{complete}"
    );
    // AND another tenant reads none of it
    let foreign = rpc(&stranger, "resources/read", &json!({"uri": "items://42/data"})).await;
    assert!(foreign["error"].is_object(), "{foreign}");
    let foreign = rpc(&stranger, "resources/templates/list", &json!({})).await;
    assert!(!foreign.to_string().contains("items://"), "{foreign}");
    let foreign = rpc(
        &stranger,
        "completion/complete",
        &json!({"ref": {"type": "ref/prompt", "name": "inspect"},
        "argument": {"name": "item", "value": ""}}),
    )
    .await;
    assert_eq!(foreign["result"]["completion"]["values"], json!([]), "{foreign}");
}
