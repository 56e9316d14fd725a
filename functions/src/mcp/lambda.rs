//! The small adapter between `lambda_http` and rmcp's Streamable HTTP service: the authorizer's
//! verdict first (401 with the MCP `WWW-Authenticate` challenge), a size limit, then the request as
//! an `http::Request` carrying the principal, and rmcp's whole answer back as the Lambda response.
//! Every MCP request that changes state, in either protocol era, is audited here, once, as its REST
//! twin would be ([`access`]). Also: durable tasks as MCP Tasks, and the protected-resource metadata.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use lambda_http::{Body, Request, Response};
use rmcp::model::{DetailedTask, TaskPayload, TaskStatus as McpStatus};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{json, Value};
use shared::tasks::model::{Task, TaskStatus};
use shared::ApiError;

use super::{access, legacy_tasks, views, McpServer, McpState};
use shared::audit::dynamodb::DynamoDbAuditLog;
use shared::audit::AuditLog;
use shared::auth::Principal;
use shared::metrics;

use crate::audit::{self, AuditDeps};
use crate::{auth, http as api};

/// Largest JSON-RPC request body accepted.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// rmcp's service, stateless with JSON responses.
pub type Service = StreamableHttpService<McpServer, NeverSessionManager>;

/// The endpoint: rmcp's service, the handler for the requests it does not know (2025-11-25 tasks),
/// and the audit log mutations are recorded in.
pub struct Endpoint<A = DynamoDbAuditLog> {
    pub service: Service,
    pub server: McpServer,
    pub audit: AuditDeps<A>,
}

/// Builds the service once per cold start. `origins` are the browser origins allowed; a request
/// with any other `Origin` is refused (403), one without `Origin` (not a browser) is served.
#[must_use]
pub fn service<A>(state: Arc<McpState>, origins: &[String], audit: AuditDeps<A>) -> Endpoint<A> {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        // API Gateway fixes the Host; DNS rebinding is a risk of servers on a user's own machine.
        .disable_allowed_hosts()
        .with_allowed_origins(origins.iter().cloned())
        .enforce_origin_validation()
        .with_max_request_body_bytes(MAX_REQUEST_BYTES);
    let server = McpServer { state };
    let factory = server.clone();
    let sessions = Arc::new(NeverSessionManager::default());
    let service = StreamableHttpService::new(move || Ok(factory.clone()), sessions, config);
    Endpoint { service, server, audit }
}

/// `https://<host>` of the request, as the client reached it.
#[must_use]
pub fn base_url(req: &Request) -> String {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let host = header("host").unwrap_or("localhost");
    let scheme = header("x-forwarded-proto").unwrap_or("https");
    format!("{scheme}://{host}")
}

/// The MCP authorization challenge on a `401`: where the protected-resource metadata is.
fn challenge(req: &Request, err: &ApiError, request_id: &str) -> Response<Body> {
    let mut response = api::error(err, request_id);
    if err.status == 401 {
        let value = format!(
            "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
            base_url(req)
        );
        if let Ok(v) = value.parse() {
            response.headers_mut().insert("www-authenticate", v);
        }
    }
    response
}

/// Serves one Lambda invocation of `POST|GET|DELETE /mcp`.
///
/// # Errors
/// Never: every failure is an HTTP answer.
pub async fn handle<A: AuditLog>(endpoint: &Endpoint<A>, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let started = std::time::Instant::now();
    let request_id = api::request_id(&req);
    let principal = match auth::principal(&req) {
        Ok(p) => p,
        Err(err) => {
            audit_refusal(endpoint, &req, err.status).await;
            return Ok(challenge(&req, &err, &request_id));
        }
    };
    let who = principal.clone();
    let too_large = req.body().len() > MAX_REQUEST_BYTES;
    let body: Value = if too_large {
        Value::Null
    } else {
        serde_json::from_slice(req.body().as_ref()).unwrap_or(Value::Null)
    };
    let response = if too_large {
        let message = format!("an MCP request may be at most {MAX_REQUEST_BYTES} bytes");
        api::error(&ApiError::new(413, "BODY_TOO_LARGE", message), &request_id)
    } else if let Some(refusal) = jsonrpc_refusal(&req) {
        jsonrpc_error(400, refusal, &request_id)
    } else {
        let mutation = access::mutation(&endpoint.server.state.tools, &body);
        let mut context = Request::new(Body::Empty);
        *context.extensions_mut() = req.extensions().clone();
        let response = serve(endpoint, principal, req, &body, &request_id).await;
        if let Some(mutation) = mutation {
            let answer: Value = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
            let status = access::audited_status(&who, &mutation, response.status().as_u16(), &answer);
            audit::record_status(&endpoint.audit, &context, Some(mutation.target), status).await;
        }
        response
    };
    let outcome = metrics::Outcome::of_status(response.status().as_u16());
    let recorder = endpoint.server.state.deps.metrics.as_ref();
    let logged = log_request(recorder, &who, &request_id, &body, &response, started);
    tokio::join!(
        metrics::record_invocation(recorder, Some(&who.tenant), started, outcome),
        logged
    );
    Ok(response)
}

/// The request in the tenant's logs (`GET /api/v1/logs`): route `POST /mcp`, status, latency, the
/// JSON-RPC `mcp_method` (and `tool` of a `tools/call`), and the error's code: the envelope's, or
/// `JSONRPC_<code>` for a JSON-RPC error answered `200`.
async fn log_request(
    recorder: Option<&metrics::Recorder>,
    who: &Principal,
    request_id: &str,
    body: &Value,
    response: &Response<Body>,
    started: std::time::Instant,
) {
    let Some(recorder) = recorder else { return };
    let status = response.status().as_u16();
    let answer: Value = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    let code = match (&answer["error"]["code"], status) {
        (Value::String(code), _) => Some(code.clone()),
        (Value::Number(code), _) => Some(format!("JSONRPC_{code}")),
        _ => None,
    };
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut event = shared::logs::request_event(
        &who.tenant,
        request_id,
        "POST /mcp",
        status,
        latency_ms,
        &who.subject,
        code.as_deref(),
    );
    if let Some(method) = body["method"].as_str() {
        event = event.with("mcp_method", method.chars().take(64).collect::<String>());
    }
    if let (Some("tools/call"), Some(tool)) = (body["method"].as_str(), body["params"]["name"].as_str()) {
        event = event.with("tool", tool.chars().take(64).collect::<String>());
    }
    recorder.event(event).await;
}

/// A mutation refused before it was read (429 of a known principal) is audited as denied; a 401
/// has no principal, hence no tenant to record it under.
async fn audit_refusal<A: AuditLog>(endpoint: &Endpoint<A>, req: &Request, status: u16) {
    // An unauthenticated caller's body is not even parsed.
    if status == 401 || req.body().len() > MAX_REQUEST_BYTES {
        return;
    }
    let body: Value = serde_json::from_slice(req.body().as_ref()).unwrap_or(Value::Null);
    if let Some(mutation) = access::mutation(&endpoint.server.state.tools, &body) {
        audit::record_status(&endpoint.audit, req, Some(mutation.target), status).await;
    }
}

async fn serve<A>(
    endpoint: &Endpoint<A>,
    principal: Principal,
    req: Request,
    body: &Value,
    request_id: &str,
) -> Response<Body> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let legacy = header("mcp-protocol-version").as_deref() == Some(legacy_tasks::VERSION);
    // Requests with an Origin go to rmcp, which checks it; 2025-11-25 task requests come from SDKs.
    if legacy && header("origin").is_none() {
        if let Some(answer) = legacy_tasks::answer(&endpoint.server, &principal, body).await {
            return api::json(200, &answer);
        }
    }
    let sent_json = api::sends_json(&req);
    // From 2026-07-28 on, a JSON-RPC error carries its HTTP status too (rmcp: 404 unknown method,
    // 400 bad params); before, it is a 200.
    let stateless = header("mcp-protocol-version").is_some_and(|v| v.as_str() >= STATELESS_SINCE);
    let (parts, raw) = req.into_parts();
    let mut request = http::Request::from_parts(parts, Full::new(Bytes::copy_from_slice(&raw)));
    request.extensions_mut().insert(principal);
    let (parts, answer) = endpoint.service.handle(request).await.into_parts();
    if parts.status == http::StatusCode::UNSUPPORTED_MEDIA_TYPE && sent_json {
        // rmcp says 415 for a JSON-RPC message it cannot read into a typed one: params of the wrong
        // shape. The body was checked to be a JSON-RPC message, so answer as JSON-RPC says.
        return unreadable_params(body, stateless, request_id);
    }
    let bytes = answer
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let (bytes, misfit) = amended(body, legacy, &bytes);
    let mut parts = parts;
    if misfit && parts.status == http::StatusCode::NOT_FOUND {
        // 2026-07-28 answers an unknown method at 404 and bad params at 400.
        parts.status = http::StatusCode::BAD_REQUEST;
    }
    in_envelope(Response::from_parts(parts, Body::from(bytes)), request_id)
}

/// The MCP methods rmcp reads into typed requests: when their params do not fit, rmcp reads the
/// message as a custom request and answers `-32601` naming the method, where JSON-RPC says `-32602`.
const TYPED_METHODS: [&str; 15] = [
    "initialize",
    "ping",
    "completion/complete",
    "logging/setLevel",
    "prompts/get",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "tools/call",
    "tools/list",
    "tasks/get",
    "tasks/cancel",
];

/// Whether `body` names a method rmcp reads into a typed request, yet does not read as that request
/// (its params do not fit): rmcp then took it for a custom request. A method rmcp does not serve
/// (`logging/setLevel`, `ping` in 2026-07-28, …) reads as its typed request and stays `-32601`.
fn params_do_not_fit(body: &Value) -> bool {
    use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcMessage};
    let method = body["method"].as_str().unwrap_or_default();
    TYPED_METHODS.contains(&method)
        && matches!(
            serde_json::from_value::<ClientJsonRpcMessage>(body.clone()),
            Ok(JsonRpcMessage::Request(r)) if matches!(r.request, ClientRequest::CustomRequest(_))
        )
}

fn params_misfit(method: &str) -> String {
    format!("the params of {method} do not have its shape (see the MCP schema)")
}

/// rmcp's answer, with what 2025-11-25 clients need added to `initialize` and `tools/list`, and
/// params that did not fit a method answered `-32602` (then `true`).
fn amended(body: &Value, legacy: bool, bytes: &[u8]) -> (Vec<u8>, bool) {
    let method = body["method"].as_str().unwrap_or_default();
    match serde_json::from_slice::<Value>(bytes) {
        Ok(json) if matches!(method, "initialize" | "tools/list") && json.get("error").is_none() => {
            let json = legacy_tasks::amend(method, legacy, json);
            (serde_json::to_vec(&json).unwrap_or_default(), false)
        }
        Ok(mut json)
            if json["error"]["code"] == -32601 && json["error"]["message"] == method && params_do_not_fit(body) =>
        {
            json["error"] = json!({"code": -32602, "message": params_misfit(method)});
            (serde_json::to_vec(&json).unwrap_or_default(), true)
        }
        _ => (bytes.to_vec(), false),
    }
}

/// JSON-RPC 2.0's own refusals of a `POST` whose body is declared JSON, before rmcp reads it: a
/// body that is not JSON is `-32700`; a batch (MCP has not accepted batches since 2025-06-18, and
/// this endpoint serves no era that did) or a value that is neither a request, a notification nor a
/// response is `-32600`. The transport answers both with HTTP `400`; a body sent as anything but
/// JSON stays rmcp's `415`.
fn jsonrpc_refusal(req: &Request) -> Option<JsonRpcRefusal> {
    if req.method() != http::Method::POST || !api::sends_json(req) {
        return None;
    }
    let Ok(body) = serde_json::from_slice::<Value>(req.body().as_ref()) else {
        return Some(JsonRpcRefusal::Parse);
    };
    let message = match &body {
        Value::Array(_) => "a JSON-RPC batch is not accepted: send one message per request",
        Value::Object(o) if o.get("jsonrpc").and_then(Value::as_str) != Some("2.0") => {
            "a JSON-RPC message needs \"jsonrpc\": \"2.0\""
        }
        Value::Object(o) => {
            let id = o.get("id");
            let id_ok = id.is_none_or(|id| id.is_string() || id.is_i64() || id.is_u64());
            let request = o.get("method").is_some_and(Value::is_string) && id_ok;
            // A response to a request whose id could not be read carries a null id.
            let response =
                id.is_some_and(|id| id_ok || id.is_null()) && (o.contains_key("result") || o.contains_key("error"));
            if request || response {
                return None;
            }
            "a JSON-RPC message is a request or notification (a string \"method\") or a response \
             (\"id\" with \"result\" or \"error\"); an id is a string or an integer"
        }
        _ => "a JSON-RPC message is a JSON object",
    };
    Some(JsonRpcRefusal::Invalid(message))
}

/// Why a body is not a JSON-RPC message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonRpcRefusal {
    /// `-32700`.
    Parse,
    /// `-32600`, with what is wrong.
    Invalid(&'static str),
}

/// A JSON-RPC error response with no `id` (it could not be read, or the message was refused before
/// it was), at HTTP `status`, carrying the request id in `data` as the REST envelope does.
fn jsonrpc_error(status: u16, refusal: JsonRpcRefusal, request_id: &str) -> Response<Body> {
    let (code, message) = match refusal {
        JsonRpcRefusal::Parse => (-32700, "Parse error: the body is not JSON"),
        JsonRpcRefusal::Invalid(why) => (-32600, why),
    };
    rpc_error(status, code, message, request_id)
}

/// The first protocol version without the initialize handshake.
const STATELESS_SINCE: &str = "2026-07-28";

/// A JSON-RPC message whose params do not fit its method (`-32602`) or that names no method rmcp
/// knows (`-32600`): a request is answered with its id (at HTTP `200` before 2026-07-28, `400`
/// since), anything else at `400`.
fn unreadable_params(body: &Value, stateless: bool, request_id: &str) -> Response<Body> {
    let method = body["method"].as_str().unwrap_or_default();
    let (code, message) = if TYPED_METHODS.contains(&method) {
        (-32602, params_misfit(method))
    } else {
        (-32600, "the message could not be read as an MCP request".to_owned())
    };
    match body.get("id").filter(|_| !method.is_empty()) {
        Some(id) => api::json(
            if stateless { 400 } else { 200 },
            &json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
        ),
        None => rpc_error(400, code, &message, request_id),
    }
}

fn rpc_error(status: u16, code: i32, message: &str, request_id: &str) -> Response<Body> {
    let body = json!({"jsonrpc": "2.0", "id": null,
        "error": {"code": code, "message": message, "data": {"request_id": request_id}}});
    api::json(status, &body)
}

/// rmcp answers transport refusals (405, 403 for a foreign Origin, 406, 415, …) in plain text; they
/// get the error envelope, keeping their `Allow` header, except a `400` (an unsupported or malformed
/// `MCP-Protocol-Version`, a request rmcp cannot read), which is a JSON-RPC `-32600` as the MCP
/// transport has it. JSON-RPC answers pass unchanged.
fn in_envelope(response: Response<Body>, request_id: &str) -> Response<Body> {
    let status = response.status().as_u16();
    let is_json = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status < 400 || is_json {
        return response;
    }
    if status >= 500 {
        // rmcp's own failure: its text goes to the log, never to the client.
        let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        return api::error(
            &ApiError::internal_because(format!("rmcp answered {status}: {text}")),
            request_id,
        );
    }
    if status == 400 {
        // rmcp's reason may quote a header: bounded, never the whole of it.
        let text = String::from_utf8_lossy(response.body().as_ref());
        let message: String = text.trim().chars().take(200).collect();
        return rpc_error(400, -32600, &message, request_id);
    }
    let code = match status {
        403 => "FORBIDDEN_ORIGIN",
        405 => "METHOD_NOT_ALLOWED",
        406 => "NOT_ACCEPTABLE",
        413 => "BODY_TOO_LARGE",
        415 => "UNSUPPORTED_MEDIA_TYPE",
        _ => "INVALID_REQUEST",
    };
    let message = String::from_utf8_lossy(response.body().as_ref()).trim().to_owned();
    let mut answer = api::error(&ApiError::new(status, code, message), request_id);
    if let Some(allow) = response.headers().get("allow") {
        answer.headers_mut().insert("allow", allow.clone());
    }
    answer
}

/// A durable task as an MCP task (`working` until it ends).
#[must_use]
pub fn mcp_task(task: &Task) -> rmcp::model::Task {
    let status = match task.status {
        TaskStatus::Pending | TaskStatus::Running | TaskStatus::Retrying => McpStatus::Working,
        TaskStatus::Completed => McpStatus::Completed,
        TaskStatus::Failed => McpStatus::Failed,
        TaskStatus::Cancelled => McpStatus::Cancelled,
    };
    let updated = task
        .finished_at
        .clone()
        .or_else(|| task.started_at.clone())
        .unwrap_or_else(|| task.created_at.clone());
    let shown = rmcp::model::Task::new(task.task_id.clone(), status, task.created_at.clone(), updated)
        .with_status_message(views::status_name(task.status))
        .with_poll_interval_ms(500);
    match ttl_ms(task) {
        Some(ttl) => shown.with_ttl_ms(ttl),
        None => shown,
    }
}

/// How long the task is kept from its creation, in milliseconds (`None`: kept for ever, as tasks
/// written before tasks expired are).
fn ttl_ms(task: &Task) -> Option<u64> {
    let created = chrono::DateTime::parse_from_rfc3339(&task.created_at).ok()?;
    u64::try_from(task.expires_at?.checked_mul(1000)? - created.timestamp_millis()).ok()
}

/// The `tools/call` result a completed task stands for: its result, structured and as text.
#[must_use]
pub fn completed_result(task: &Task) -> Value {
    let structured = views::result(task);
    json!({"content": [{"type": "text", "text": structured.to_string()}], "structuredContent": structured,
        "isError": false})
}

/// `tasks/get`: the task, and its tool result or error once it has ended.
#[must_use]
pub fn detailed_task(task: &Task) -> DetailedTask {
    let object = |v: Value| v.as_object().cloned().unwrap_or_default();
    let payload = match task.status {
        TaskStatus::Pending | TaskStatus::Running | TaskStatus::Retrying => TaskPayload::Working,
        TaskStatus::Cancelled => TaskPayload::Cancelled,
        TaskStatus::Completed => TaskPayload::Completed {
            result: object(completed_result(task)),
        },
        TaskStatus::Failed => TaskPayload::Failed {
            error: object(json!({"code": -32603, "message": task.error.clone().unwrap_or_default()})),
        },
    };
    DetailedTask::new(mcp_task(task), payload)
}

/// `GET /.well-known/oauth-protected-resource[/mcp]` (RFC 9728): the resource, and the JWT issuer
/// as its authorization server when bearer tokens are configured.
#[must_use]
pub fn protected_resource(req: &Request, issuer: Option<&str>) -> Response<Body> {
    let mut doc = json!({"resource": format!("{}/mcp", base_url(req)), "resource_name": "mcpflow",
        "bearer_methods_supported": ["header"]});
    if let Some(issuer) = issuer {
        doc["authorization_servers"] = json!([issuer]);
    }
    api::json(200, &doc)
}

#[cfg(test)]
mod tests;
