//! HTTP helpers shared by the handlers: request ids, path ids, JSON responses and the error envelope.

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use shared::ids::IdKind;
use shared::ApiError;

/// The API Gateway request id (what the client can quote), else the Lambda invocation id.
#[must_use]
pub fn request_id(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) if ctx.request_id.is_some() => {
            ctx.request_id.clone().unwrap_or_default()
        }
        _ => req
            .lambda_context_ref()
            .map(|c| c.request_id.clone())
            .unwrap_or_default(),
    }
}

/// The id in the path parameter of `kind` (`contextID`, `taskID`, `nodeID`, `keyID`, `name`, `uri`),
/// checked against its format before any I/O: every handler takes its path ids from here.
///
/// # Errors
/// `404` with the kind's not-found code (`CONTEXT_NOT_FOUND`, …) when an id the system minted breaks
/// its format (or is missing), so nothing can be probed; `400 INVALID_REQUEST` when a name the caller
/// chose (a registered tool's or prompt's name, a resource's URI) breaks the format registering it
/// would have refused. The message states the format and never repeats what was sent.
pub fn path_id(req: &Request, kind: IdKind) -> Result<String, ApiError> {
    let raw = req
        .path_parameters_ref()
        .and_then(|p| p.first(kind.param()))
        .unwrap_or_default();
    kind.check(raw).map(str::to_owned).map_err(|e| match kind {
        IdKind::Registered(_) => {
            let message = format!("the {} in the path is malformed: {}", kind.param(), kind.shape());
            ApiError::bad_request("INVALID_REQUEST", message).with_details(serde_json::json!({"field": kind.param()}))
        }
        _ => ApiError::not_found(kind.not_found_code(), e.to_string()),
    })
}

/// A JSON response with the given status.
#[must_use]
pub fn json(status: u16, value: &impl Serialize) -> Response<Body> {
    match serde_json::to_string(value) {
        Ok(body) => respond(status, body),
        Err(err) => {
            tracing::error!(error = %err, "response could not be serialised");
            respond(500, ApiError::internal().to_body(""))
        }
    }
}

/// Whether the request says its body is JSON: `Content-Type: application/json`, with or without
/// parameters (`; charset=utf-8`).
#[must_use]
pub fn sends_json(req: &Request) -> bool {
    req.headers()
        .get(lambda_http::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// The request body as JSON of type `T`, at most `max_bytes` long, sent as `application/json`.
///
/// # Errors
/// 413 `BODY_TOO_LARGE`, 415 `UNSUPPORTED_MEDIA_TYPE` or 400 `INVALID_BODY` naming what is wrong.
pub fn json_body<T: serde::de::DeserializeOwned>(req: &Request, max_bytes: usize) -> Result<T, ApiError> {
    let bytes = req.body().as_ref();
    if bytes.len() > max_bytes {
        return Err(ApiError::new(
            413,
            "BODY_TOO_LARGE",
            format!("the body must be at most {max_bytes} bytes"),
        ));
    }
    if !sends_json(req) {
        return Err(ApiError::new(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the body as JSON, with Content-Type: application/json",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        // serde names an unknown field or variant by what was sent: bounded, never all of it.
        let why: String = e.to_string().chars().take(MAX_REASON_CHARS).collect();
        ApiError::bad_request("INVALID_BODY", format!("invalid JSON body: {why}"))
    })
}

/// The most of a parser's reason an error message carries.
const MAX_REASON_CHARS: usize = 200;

/// The error envelope as a response; an internal cause the error carries is logged here, with the
/// request id the client is shown.
#[must_use]
pub fn error(err: &ApiError, request_id: &str) -> Response<Body> {
    if let Some(cause) = &err.cause {
        tracing::error!(error = %cause, %request_id, status = err.status, "request failed");
    }
    let mut response = respond(err.status, err.to_body(request_id));
    if err.status == 401 {
        // RFC 9110: a 401 names the scheme it wants; MCP clients read it to start authorization.
        let challenge = lambda_http::http::HeaderValue::from_static(r#"Bearer realm="mcpflow""#);
        response
            .headers_mut()
            .insert(lambda_http::http::header::WWW_AUTHENTICATE, challenge);
    }
    if let Some(secs) = err.retry_after_secs {
        response
            .headers_mut()
            .insert(lambda_http::http::header::RETRY_AFTER, secs.into());
    }
    response
}

/// A response with `body`, already JSON, and the given status.
#[must_use]
pub fn respond(status: u16, body: String) -> Response<Body> {
    respond_as(status, body, "application/json")
}

/// The route key API Gateway matched (`GET /api/v1/tasks/{taskID}`); empty outside API Gateway.
#[must_use]
pub fn route_key(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// A response with the given status and a body of `content_type`.
#[must_use]
pub fn respond_as(status: u16, body: String, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(status).unwrap_or_default();
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static(content_type),
    );
    response
}

#[cfg(test)]
pub(crate) mod test_support {
    use lambda_http::{Body, Request, Response};

    /// A request built from `events/<function>/<case>.json`, the same files `cargo lambda invoke` uses.
    pub fn event(function: &str, case: &str) -> Request {
        let path = format!("{}/../events/{function}/{case}.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The event of a function that is not HTTP (an SQS batch, a schedule, an authorizer request)
    /// from `events/<function>/<case>.json`, as the runtime hands it over.
    pub fn lambda_event<T: serde::de::DeserializeOwned>(function: &str, case: &str) -> lambda_runtime::LambdaEvent<T> {
        let path = format!("{}/../events/{function}/{case}.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let payload = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut context = lambda_runtime::Context::default();
        context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis() + 60_000).unwrap_or(u64::MAX);
        lambda_runtime::LambdaEvent::new(payload, context)
    }

    /// The event `events/<function>/<case>.json` after `edit` changed its JSON (verdict, body, …).
    pub fn event_edited(function: &str, case: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Request {
        let path = format!("{}/../events/{function}/{case}.json", env!("CARGO_MANIFEST_DIR"));
        let mut value: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        edit(&mut value);
        lambda_http::request::from_str(&value.to_string()).unwrap()
    }

    /// The same event as if no authorizer had run (a route left without one, or a forged request).
    pub fn event_without_authorizer(function: &str, case: &str) -> Request {
        let path = format!("{}/../events/{function}/{case}.json", env!("CARGO_MANIFEST_DIR"));
        let mut value: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        value["requestContext"].as_object_mut().unwrap().remove("authorizer");
        lambda_http::request::from_str(&value.to_string()).unwrap()
    }

    pub fn body_json(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }
}
