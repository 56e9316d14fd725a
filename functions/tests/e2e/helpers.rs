//! Where the local stack is, and AWS clients for it (from the same standard variables the functions use).

use std::time::Duration;

pub const NEEDS_STACK: &str = "needs the local stack: run `make test`";

/// A request header carrying a credential, as (name, value).
pub type Credential = (&'static str, String);

/// A tenant name no other run has used, so that its keys, counters and audit log start empty.
pub fn fresh_tenant(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// The gateway's base URL: `GATEWAY_URL`, else `http://127.0.0.1:$GATEWAY_PORT`.
pub fn gateway_url() -> String {
    std::env::var("GATEWAY_URL").unwrap_or_else(|_| {
        format!(
            "http://127.0.0.1:{}",
            std::env::var("GATEWAY_PORT").unwrap_or_else(|_| "3000".into())
        )
    })
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// The admin key `make test` created for the local tenant.
pub fn admin_key() -> String {
    std::env::var("MCPFLOW_ADMIN_KEY").unwrap_or_else(|_| panic!("MCPFLOW_ADMIN_KEY is not set; {NEEDS_STACK}"))
}

/// `GET path` on the gateway, as status and JSON body.
pub async fn get_json(path: &str) -> (u16, serde_json::Value) {
    send_json(http().get(format!("{}{path}", gateway_url()))).await
}

/// `GET path` with the admin key.
pub async fn get_json_as_admin(path: &str) -> (u16, serde_json::Value) {
    send_json(
        http()
            .get(format!("{}{path}", gateway_url()))
            .header("x-api-key", admin_key()),
    )
    .await
}

/// Sends a request, as status and JSON body (`null` for an empty body).
pub async fn send_json(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let response = request.send().await.unwrap_or_else(|e| {
        panic!("gateway at {} did not answer ({e}); {NEEDS_STACK}", gateway_url());
    });
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        },
    )
}

/// A tool endpoint for registered tools (the test stack allows private addresses): answers every
/// `POST` with `{"echo": <the JSON it was sent>}`. Started once, on a thread of its own, so it
/// outlives each test's runtime.
pub fn tool_endpoint() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/tool", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let echo = |axum::Json(body): axum::Json<serde_json::Value>| async move {
                    axum::Json(serde_json::json!({"echo": body}))
                };
                let app = axum::Router::new()
                    .route("/tool", axum::routing::post(echo))
                    .route("/mcp-tool", axum::routing::post(mcp_tool));
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        url
    })
    .clone()
}

/// An `mcp` tool's endpoint: NDJSON progress and log notifications, then an MCP tool result (an
/// `isError` one when the arguments say `"fail": true`).
async fn mcp_tool(axum::Json(args): axum::Json<serde_json::Value>) -> impl axum::response::IntoResponse {
    use serde_json::json;
    let result = if args["fail"] == true {
        json!({"isError": true, "content": [{"type": "text", "text": "the tool failed on purpose"}]})
    } else {
        json!({"content": [{"type": "text", "text": "done"},
            {"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"}]})
    };
    let lines = [
        json!({"method": "notifications/progress", "params": {"progress": 1, "total": 2}}),
        json!({"method": "notifications/message", "params": {"level": "info", "data": "starting"}}),
        json!({"method": "notifications/progress", "params": {"progress": 2, "total": 2, "message": "half"}}),
        json!({"method": "notifications/message", "params": {"level": "warning", "data": "slow"}}),
        json!({"method": "notifications/unknown", "params": {}}),
        result,
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    ([("content-type", "application/x-ndjson")], body)
}

/// Notes a secret a test made (an API key, a signed token) in `MCPFLOW_TEST_SECRETS_FILE`, so that
/// `make test` can check no log holds it.
pub fn remember_secret(secret: &str) {
    use std::io::Write as _;
    let Ok(path) = std::env::var("MCPFLOW_TEST_SECRETS_FILE") else {
        return;
    };
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path);
    if let Ok(mut file) = file {
        // One write of the whole line: tests run in parallel, and `writeln!` may write the secret and
        // its newline separately, interleaving two lines into one and an empty one (which matches
        // every log).
        let _ = file.write_all(format!("{secret}\n").as_bytes());
    }
}
