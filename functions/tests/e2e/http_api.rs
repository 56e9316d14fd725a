//! The HTTP API through the local gateway, the functions under `cargo lambda watch`, and the emulators.

use crate::helpers::{gateway_url, get_json, get_json_as_admin, http};

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn health_is_200_with_the_table_every_queue_and_the_state_machine_ok() {
    let (status, body) = get_json("/api/v1/mcp/health").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    let names: Vec<&str> = body["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    for expected in [
        "dynamodb:",
        "sqs:task-high",
        "sqs:task-medium",
        "sqs:task-low",
        "sqs:stage",
        "states:",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(expected)),
            "{expected} missing from {names:?}"
        );
    }
    assert!(body["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["status"] == "ok" && d["latency_ms"].is_number()));
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn the_short_health_path_answers_the_same() {
    let (status, body) = get_json("/api/v1/health").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn the_openapi_document_is_public_openapi_3_1_and_cached_by_etag() {
    let url = format!("{}/api/v1/openapi.json", gateway_url());
    let response = http().get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let header = |r: &reqwest::Response, name: &str| r.headers()[name].to_str().unwrap().to_owned();
    assert!(header(&response, "content-type").starts_with("application/json"));
    assert!(header(&response, "cache-control").contains("max-age"));
    let etag = header(&response, "etag");
    let doc: serde_json::Value = response.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    assert!(doc["paths"]["/api/v1/openapi.json"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/mcp/contexts"]["post"].is_object());
    let again = http().get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "etag"), etag);
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn models_lists_the_local_provider_as_available() {
    let (status, body) = get_json_as_admin("/api/v1/mcp/models").await;
    assert_eq!(status, 200, "{body}");
    let local = body["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "local")
        .expect("local provider");
    assert_eq!(local["available"], true);
    assert!(body["models"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["provider"] == "local" && m["available"] == true));
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn unknown_routes_and_wrong_methods_get_api_gateways_404() {
    let (status, body) = get_json("/api/v1/nothing-here").await;
    assert_eq!((status, body), (404, serde_json::json!({"message": "Not Found"})));
    let response = http()
        .post(format!("{}/api/v1/mcp/health", gateway_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

/// Run by `make test` after it stops moto (SQS and Step Functions).
#[tokio::test]
#[ignore = "end-to-end: needs the local stack with moto stopped"]
async fn degraded_health_is_503_naming_sqs_when_moto_is_down() {
    let (status, body) = get_json("/api/v1/mcp/health").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "DEPENDENCY_UNAVAILABLE");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("sqs:task-high") && message.contains("states:"),
        "{message}"
    );
    let deps = body["error"]["details"]["dependencies"].as_array().unwrap();
    let table = deps
        .iter()
        .find(|d| d["name"].as_str().unwrap().starts_with("dynamodb:"))
        .unwrap();
    assert_eq!(table["status"], "ok", "DynamoDB is still up and must say so");
    assert!(body["request_id"].as_str().is_some_and(|r| !r.is_empty()));
}

/// Run by `make test` after it stops moto: the queue is down, DynamoDB is up.
#[tokio::test]
#[ignore = "end-to-end: needs the local stack with moto stopped"]
async fn degraded_a_prompt_with_the_queue_down_is_503_and_leaves_nothing_behind() {
    use crate::auth_matrix::{bearer, jwt, secret};
    use crate::conversation::{get, post};
    use serde_json::json;
    // GIVEN a context (DynamoDB only) with one node
    let caller = bearer(&jwt(
        &crate::helpers::fresh_tenant("down"),
        "operator",
        &json!({}),
        &secret(),
    ));
    let body = json!({"model_id": "local-echo", "nodes": [{"content": "Be brief."}]});
    let (status, created) = post(&caller, "/api/v1/mcp/contexts", &body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["context_id"].as_str().unwrap().to_owned();
    let (_, before) = get(&caller, &format!("/api/v1/mcp/contexts/{id}")).await;
    let (_, tasks_before) = get(&caller, "/api/v1/mcp/tasks").await;
    // WHEN a prompt is sent while SQS cannot be reached
    let url = format!("{}/api/v1/mcp/contexts/{id}/prompt", crate::helpers::gateway_url());
    let response = http()
        .post(url)
        .header(caller.0, &caller.1)
        .json(&json!({"prompt": "Are you there?"}))
        .send()
        .await
        .unwrap();
    // THEN it is a 503 with Retry-After, in the envelope
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        (status, answer["error"]["code"].as_str(), retry_after.as_deref()),
        (503, Some("DEPENDENCY_UNAVAILABLE"), Some("2")),
        "{answer}"
    );
    assert!(!answer.to_string().contains("dispatch"), "no internals: {answer}");
    // AND nothing is left: the context is as it was, and the tenant has no new task
    let (_, after) = get(&caller, &format!("/api/v1/mcp/contexts/{id}")).await;
    assert_eq!(after["nodes"], before["nodes"], "{after}");
    let (_, tasks) = get(&caller, "/api/v1/mcp/tasks").await;
    assert_eq!(tasks["tasks"], tasks_before["tasks"], "{tasks}");
    // AND over MCP the same outage is a JSON-RPC error naming it, with nothing written either
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "create_task", "arguments": {"prompt": "hello"}}});
    let (status, answer) = crate::helpers::send_json(
        http()
            .post(format!("{}/mcp", crate::helpers::gateway_url()))
            .header(caller.0, &caller.1)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .json(&call),
    )
    .await;
    // (a tool's failure is a result the model reads, not a protocol error)
    assert_eq!((status, &answer["result"]["isError"]), (200, &json!(true)), "{answer}");
    let said = answer["result"]["structuredContent"]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(said.starts_with("DEPENDENCY_UNAVAILABLE"), "{answer}");
    let (_, tasks) = get(&caller, "/api/v1/mcp/tasks").await;
    assert_eq!(tasks["tasks"], tasks_before["tasks"], "{tasks}");
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_body_not_sent_as_json_is_415_on_every_route_that_takes_one() {
    use crate::auth_matrix::{bearer, body_for, jwt, request_for, routes, secret, Targets};
    use serde_json::json;
    use shared::auth::permissions::allows;
    use shared::auth::Role;
    // GIVEN an admin of a tenant with a context, a task, an agent and a pipeline to aim at
    let tenant = crate::helpers::fresh_tenant("media");
    let targets = Targets::of_every_kind(&tenant).await;
    let admin = bearer(&jwt(
        &tenant,
        "admin",
        &json!({"sub": format!("media@{tenant}")}),
        &secret(),
    ));
    let with_body = |r: &crate::auth_matrix::Route| {
        r.guarded && (r.method == "POST" || r.method == "PUT") && r.path != "/mcp" && allows(&r.key, Role::Admin)
    };
    for route in routes().into_iter().filter(with_body) {
        // A cancel takes no body, so it reads none.
        let takes_a_body = !route.path.ends_with("/cancel");
        let body = body_for(&route.path, &targets).to_string();
        // WHEN a valid JSON body comes as text or as a form
        for media in ["text/plain", "application/x-www-form-urlencoded"] {
            let sent = request_for(&route, Some(&admin), &targets)
                .header("content-type", media)
                .body(body.clone());
            let (status, answer) = crate::helpers::send_json(sent).await;
            // THEN it is refused as such before anything is read or written, with no 5xx anywhere
            if takes_a_body {
                assert_eq!(
                    (status, answer["error"]["code"].as_str()),
                    (415, Some("UNSUPPORTED_MEDIA_TYPE")),
                    "{} as {media}: {answer}",
                    route.key
                );
            } else {
                assert!(
                    status != 415 && status < 500,
                    "{} as {media}: {status} {answer}",
                    route.key
                );
            }
        }
        // AND JSON with a charset is JSON
        let sent = request_for(&route, Some(&admin), &targets)
            .header("content-type", "application/json; charset=utf-8")
            .body(body);
        let (status, answer) = crate::helpers::send_json(sent).await;
        assert!(
            status != 415 && status < 500,
            "{} as JSON: {status} {answer}",
            route.key
        );
    }
}

/// The browser origin the test stack's `CorsAllowedOrigins` allows (`infra/stack/test.sh`).
const CONSOLE_ORIGIN: &str = "https://console.mcpflow.test";

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn every_route_takes_over_long_ids_wrong_media_head_and_preflights_without_a_5xx() {
    use crate::auth_matrix::{bearer, body_for, jwt, request_for, routes, secret, Targets};
    use serde_json::json;
    // GIVEN a tenant with something of every kind to aim at, and the same targets named by ids
    // far over any format (DynamoDB refuses keys over 2,048 bytes)
    let tenant = crate::helpers::fresh_tenant("walk");
    let targets = Targets::of_every_kind(&tenant).await;
    let long = |prefix: &str| format!("{prefix}{}", "z".repeat(3000));
    let too_long = Targets {
        key_id: long(""),
        context_id: long("ctx_"),
        task_id: long("task_"),
        node_id: long("ctx_0-"),
        tool: long("t"),
        prompt: long("p"),
        resource: long("data://"),
        agent_id: long("agt_"),
        pipeline_id: long("pln_"),
        execution_id: long("exe_"),
        integration_id: long("itg_"),
        completion_id: long("task_"),
    };
    let echo = "z".repeat(64);
    for (n, route) in routes().into_iter().enumerate() {
        let subject = json!({"sub": format!("walk-{n}@{tenant}")});
        let admin = bearer(&jwt(&tenant, "admin", &subject, &secret()));
        let key = &route.key;
        let takes_body = route.method == "POST" || route.method == "PUT";
        // WHEN its path ids are over-long: THEN 400, 403 or 404 before any I/O, never echoing them
        if route.path.contains('{') {
            let mut sent = request_for(&route, Some(&admin), &too_long);
            if takes_body {
                sent = sent.json(&body_for(&route.path, &targets));
            }
            let response = sent.send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            assert!(
                matches!(status, 400 | 403 | 404),
                "{key} with long ids: {status} {text}"
            );
            assert!(!text.contains(&echo), "{key} echoed a long id: {text}");
        }
        // WHEN a body comes as text: THEN never a 5xx
        if takes_body {
            let sent = request_for(&route, Some(&admin), &targets)
                .header("content-type", "text/plain")
                .body(body_for(&route.path, &targets).to_string());
            let status = sent.send().await.unwrap().status().as_u16();
            assert!(status < 500, "{key} as text/plain: {status}");
        }
        // WHEN it is asked with HEAD: THEN a GET route answers as GET would; any other route's path
        // answers without a 5xx
        let head = request_for(&route, Some(&admin), &targets).build().unwrap();
        let head = crate::helpers::http()
            .head(head.url().clone())
            .headers(head.headers().clone())
            .send()
            .await
            .unwrap();
        // (that no body follows a HEAD answer is the local gateway's own test: an HTTP client
        // reads none whatever the server sends)
        let head_status = head.status().as_u16();
        assert!(head_status < 500, "{key}: HEAD {head_status}");
        // A claim is not a read: it has no HEAD twin.
        if route.method == "GET" && !route.path.ends_with("/tasks/next") {
            let get = request_for(&route, Some(&admin), &targets).send().await.unwrap();
            assert_eq!(head_status, get.status().as_u16(), "HEAD and GET of {key} differ");
        }
        // WHEN a browser on the console's origin preflights it: THEN API Gateway's answer, allowing it
        let path = request_for(&route, None, &targets).build().unwrap().url().clone();
        for (origin, allowed) in [(CONSOLE_ORIGIN, true), ("https://evil.example", false)] {
            let preflight = crate::helpers::http()
                .request(reqwest::Method::OPTIONS, path.clone())
                .header("origin", origin)
                .header("access-control-request-method", route.method.as_str())
                .header("access-control-request-headers", "authorization,content-type")
                .send()
                .await
                .unwrap();
            let status = preflight.status().as_u16();
            let allow = preflight.headers().get("access-control-allow-origin").cloned();
            assert_eq!(status, 204, "{key}: preflight from {origin}");
            assert_eq!(
                allow.as_ref().map(|v| v.to_str().unwrap()),
                allowed.then_some(origin),
                "{key}: preflight from {origin}"
            );
            if allowed {
                let methods = preflight.headers()["access-control-allow-methods"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                assert!(methods.contains(&route.method), "{key}: {methods}");
            }
        }
    }
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_cross_origin_answer_names_the_allowed_origin_and_what_a_page_may_read() {
    // GIVEN the console's origin, allowed by CorsAllowedOrigins
    let answer = http()
        .get(format!("{}/api/v1/mcp/health", gateway_url()))
        .header("origin", CONSOLE_ORIGIN)
        .send()
        .await
        .unwrap();
    // THEN the function's answer carries the CORS headers API Gateway adds
    let header = |name: &str| answer.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header("access-control-allow-origin").as_deref(), Some(CONSOLE_ORIGIN));
    assert!(header("access-control-expose-headers").is_some_and(|h| h.contains("retry-after")));
    // AND another origin gets none of them
    let other = http()
        .get(format!("{}/api/v1/mcp/health", gateway_url()))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

/// Run by `make test` last, after it stops DynamoDB Local too: nothing can be read or written.
#[tokio::test]
#[ignore = "end-to-end: needs the local stack with DynamoDB stopped"]
async fn outage_with_the_table_down_every_caller_gets_503_in_the_envelope() {
    use crate::auth_matrix::{bearer, jwt, secret};
    use serde_json::json;
    let token = bearer(&jwt("outage", "operator", &json!({}), &secret()));
    let key = ("x-api-key", crate::helpers::admin_key());
    // WHEN a bearer token (whose rate-limit bucket is in the table) or an API key (itself in the
    // table) is checked, and when a route reads or writes
    for (name, value) in [token, key] {
        for (method, path) in [("GET", "/api/v1/mcp/contexts"), ("POST", "/api/v1/mcp/contexts")] {
            let url = format!("{}{path}", gateway_url());
            let mut request = http().request(method.parse().unwrap(), url).header(name, &value);
            if method == "POST" {
                request = request.json(&json!({"model_id": "local-echo"}));
            }
            let response = request.send().await.unwrap();
            // THEN the answer is 503 DEPENDENCY_UNAVAILABLE with Retry-After, not a bare 500
            let status = response.status().as_u16();
            let retry_after = response.headers().get("retry-after").is_some();
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(
                (status, body["error"]["code"].as_str(), retry_after),
                (503, Some("DEPENDENCY_UNAVAILABLE"), true),
                "{name} {method} {path}: {body}"
            );
        }
        // AND a WebSocket handshake with the same credentials is refused with 503, not a crash
        let handshake = crate::websocket::connect_with(Some((name, &value)), "").await;
        assert_eq!(handshake.err(), Some(503), "{name}: the WebSocket handshake");
    }
}
