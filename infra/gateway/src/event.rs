//! Turns an HTTP request into an API Gateway HTTP API payload 2.0 event, and a function's answer
//! back into an HTTP response, as API Gateway does.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::{json, Map, Value};

use crate::routes::RouteMatch;

/// What the gateway knows of an incoming request.
#[derive(Debug, Clone)]
pub struct IncomingRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub source_ip: String,
    pub request_id: String,
    pub time_epoch_ms: i64,
}

/// The payload 2.0 event for a matched route; `authorizer` is the authorizer's context, if the route has one.
#[must_use]
pub fn build_event(req: &IncomingRequest<'_>, route: &RouteMatch, authorizer: Option<&Value>) -> Value {
    let (headers, cookies) = headers_and_cookies(req);
    let context = request_context(req, route, &headers, authorizer);
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": req.path,
        "rawQueryString": req.raw_query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": false,
    });
    if let Some(obj) = event.as_object_mut() {
        insert_optional_fields(obj, req, route, &cookies);
    }
    event
}

/// The event's headers, as HTTP API passes them on, and the cookies taken out of `Cookie`.
fn headers_and_cookies(req: &IncomingRequest<'_>) -> (BTreeMap<String, String>, Vec<String>) {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    for (name, value) in req.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == http::header::COOKIE {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
            );
            continue;
        }
        // HTTP API joins repeated headers with commas and lowercases names (http already lowercases).
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| *v = format!("{v},{value}"))
            .or_insert(value);
    }
    // API Gateway appends the client to X-Forwarded-For and says which scheme it was reached by.
    headers
        .entry("x-forwarded-for".to_owned())
        .and_modify(|v| *v = format!("{v}, {}", req.source_ip))
        .or_insert_with(|| req.source_ip.clone());
    headers.insert("x-forwarded-proto".to_owned(), "http".to_owned());
    (headers, cookies)
}

/// The event's `requestContext`.
fn request_context(
    req: &IncomingRequest<'_>,
    route: &RouteMatch,
    headers: &BTreeMap<String, String>,
    authorizer: Option<&Value>,
) -> Value {
    let user_agent = headers.get("user-agent").cloned().unwrap_or_default();
    let time = chrono::DateTime::from_timestamp_millis(req.time_epoch_ms).unwrap_or_default();
    let mut context = json!({
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": headers.get("host").cloned().unwrap_or_else(|| "localhost".into()),
        "domainPrefix": "local",
        "http": {"method": req.method, "path": req.path, "protocol": "HTTP/1.1",
                 "sourceIp": req.source_ip, "userAgent": user_agent},
        "requestId": req.request_id,
        "routeKey": route.route_key,
        "stage": "$default",
        "time": time.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
        "timeEpoch": req.time_epoch_ms,
    });
    if let Some(auth) = authorizer {
        context["authorizer"] = json!({ "lambda": auth });
    }
    context
}

/// The fields HTTP API leaves out when they would be empty: cookies, query, path parameters, body.
fn insert_optional_fields(
    obj: &mut Map<String, Value>,
    req: &IncomingRequest<'_>,
    route: &RouteMatch,
    cookies: &[String],
) {
    if !cookies.is_empty() {
        obj.insert("cookies".into(), json!(cookies));
    }
    if let Some(query) = query_parameters(req.raw_query) {
        obj.insert("queryStringParameters".into(), Value::Object(query));
    }
    if !route.path_parameters.is_empty() {
        obj.insert("pathParameters".into(), json!(route.path_parameters));
    }
    if !req.body.is_empty() {
        let text = std::str::from_utf8(req.body).ok().filter(|_| is_text(req.headers));
        let (body, b64) = text.map_or_else(|| (B64.encode(req.body), true), |t| (t.to_owned(), false));
        obj.insert("body".into(), Value::String(body));
        obj.insert("isBase64Encoded".into(), Value::Bool(b64));
    }
}

/// Repeated keys are joined with commas, as HTTP API does.
fn query_parameters(raw: &str) -> Option<Map<String, Value>> {
    let mut out: Map<String, Value> = Map::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        match out.get_mut(k.as_ref()) {
            Some(Value::String(existing)) => *existing = format!("{existing},{v}"),
            _ => {
                out.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

fn is_text(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let ct = ct.to_ascii_lowercase();
    ct.starts_with("text/")
        || ["json", "xml", "javascript", "x-www-form-urlencoded", "yaml"]
            .iter()
            .any(|t| ct.contains(t))
}

/// An HTTP response the gateway sends back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Why a function's answer is not a response.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the function returned an invalid response: {0}")]
pub struct InvalidResponse(pub String);

/// Interprets a function's answer: a `{statusCode, headers, cookies, body, isBase64Encoded}` object,
/// or any other JSON, which API Gateway returns as a 200 `application/json` body.
///
/// # Errors
/// [`InvalidResponse`] when the payload is not JSON, or its fields have the wrong types.
pub fn translate_response(payload: &[u8]) -> Result<OutgoingResponse, InvalidResponse> {
    let value: Value = serde_json::from_slice(payload).map_err(|e| InvalidResponse(e.to_string()))?;
    let json_header =
        || HeaderMap::from_iter([(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))]);
    let Some(status) = value.get("statusCode") else {
        return Ok(OutgoingResponse {
            status: StatusCode::OK,
            headers: json_header(),
            body: payload.to_vec(),
        });
    };
    let status = status_code(status)?;
    let headers = response_headers(&value)?;
    let body = response_body(&value)?;
    Ok(OutgoingResponse { status, headers, body })
}

fn status_code(status: &Value) -> Result<StatusCode, InvalidResponse> {
    status
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| InvalidResponse(format!("statusCode {status} is not an HTTP status")))
}

/// `headers`, then `multiValueHeaders`, then `cookies` as `Set-Cookie`.
fn response_headers(value: &Value) -> Result<HeaderMap, InvalidResponse> {
    let mut headers = HeaderMap::new();
    for (name, value) in value.get("headers").and_then(Value::as_object).into_iter().flatten() {
        headers.append(header_name(name)?, header_value(value)?);
    }
    for (name, values) in value
        .get("multiValueHeaders")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for v in values.as_array().into_iter().flatten() {
            headers.append(header_name(name)?, header_value(v)?);
        }
    }
    for cookie in value.get("cookies").and_then(Value::as_array).into_iter().flatten() {
        headers.append(http::header::SET_COOKIE, header_value(cookie)?);
    }
    Ok(headers)
}

fn response_body(value: &Value) -> Result<Vec<u8>, InvalidResponse> {
    Ok(match value.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if value.get("isBase64Encoded") == Some(&Value::Bool(true)) => B64
            .decode(s)
            .map_err(|e| InvalidResponse(format!("body is not base64: {e}")))?,
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(other) => other.to_string().into_bytes(),
    })
}

fn header_name(name: &str) -> Result<HeaderName, InvalidResponse> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| InvalidResponse(format!("header name {name:?}")))
}

fn header_value(value: &Value) -> Result<HeaderValue, InvalidResponse> {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    HeaderValue::from_str(&text).map_err(|_| InvalidResponse(format!("header value {text:?}")))
}

#[cfg(test)]
mod tests;
