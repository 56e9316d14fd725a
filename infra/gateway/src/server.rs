//! The HTTP side of the gateway: route, build the event, invoke, translate — or answer as API Gateway would.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use serde_json::Value;
use shared::ApiError;

use crate::authorizers::{authorizer_event, decide, http_auth, AuthorizerDef, Decision, HttpAuth};
use crate::cors::{is_preflight, CorsConfig};
use crate::event::{build_event, translate_response, IncomingRequest};
use crate::host::{FunctionHost, Streamed};
use crate::invoke::Invoker;
use crate::routes::{RouteMatch, RouteTable};
use crate::template::{FunctionUrl, Template, TemplateError};

/// HTTP API's payload limit.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The HTTP API: its routes, the way to reach functions, and the integration timeout.
pub struct HttpApi<I> {
    pub routes: RouteTable,
    pub auth: HttpAuth,
    pub invoker: I,
    /// API Gateway gives up on an integration after 30 s.
    pub timeout: Duration,
    /// The API's `CorsConfiguration`; without one, `OPTIONS` is routed like any other method.
    pub cors: Option<CorsConfig>,
    /// The function URLs served beside the API (each at its own path, any method).
    pub urls: Vec<FunctionUrl>,
    /// Where the function URLs' functions run (the gateway's host: it can stream their answers);
    /// without it, a function URL's path answers `502`.
    pub url_host: Option<Arc<FunctionHost>>,
}

impl<I: Invoker> HttpApi<I> {
    /// The template's HTTP API: its routes, authorizers and CORS, intrinsics resolved against
    /// `parameters` (every parameter's value).
    ///
    /// # Errors
    /// [`TemplateError`] for a function, authorizer or CORS configuration the gateway cannot serve.
    pub fn from_template(
        template: &Template,
        parameters: &BTreeMap<String, String>,
        invoker: I,
        timeout: Duration,
    ) -> Result<Self, TemplateError> {
        let functions = template.functions()?;
        let auth = http_auth(template, &functions)?;
        Ok(Self {
            routes: RouteTable::new(&functions, auth.default.as_deref()),
            auth,
            invoker,
            timeout,
            cors: CorsConfig::from_template(template, parameters)?,
            urls: template.function_urls()?,
            url_host: None,
        })
    }
}

/// The axum router serving every route of the API.
pub fn router<I: Invoker>(api: Arc<HttpApi<I>>) -> Router {
    Router::new().fallback(handle::<I>).with_state(api)
}

async fn handle<I: Invoker>(
    State(api): State<Arc<HttpApi<I>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let request = Received {
        peer,
        method: &method,
        uri: &uri,
        headers: &headers,
        request_id: &request_id,
    };
    let response = match &api.cors {
        Some(cors) if is_preflight(&method, &headers) && api.routes.find("OPTIONS", uri.path()).is_none() => {
            tracing::info!(path = %uri.path(), origin = ?headers.get(http::header::ORIGIN), %request_id, "preflight");
            cors.preflight(&headers)
        }
        Some(cors) => {
            let mut response = answer(&api, &request, body).await;
            cors.apply(&headers, response.headers_mut());
            response
        }
        None => answer(&api, &request, body).await,
    };
    with_request_id(response, &request_id)
}

/// What [`answer`] needs of the request besides its body.
struct Received<'a> {
    peer: SocketAddr,
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    request_id: &'a str,
}

/// Routes the request and answers it: the function's answer, or API Gateway's own.
async fn answer<I: Invoker>(api: &HttpApi<I>, request: &Received<'_>, body: Body) -> Response {
    let Received {
        peer,
        method,
        uri,
        headers,
        request_id,
    } = *request;
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return api_gateway_message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let incoming = IncomingRequest {
        method: method.as_str(),
        path: uri.path(),
        raw_query: uri.query().unwrap_or(""),
        headers,
        body: &body,
        source_ip: peer.ip().to_string(),
        request_id: request_id.to_owned(),
        time_epoch_ms: chrono::Utc::now().timestamp_millis(),
    };
    if let Some(url) = api.urls.iter().find(|u| u.path == uri.path()) {
        let response = function_url(api.url_host.as_deref(), url, &incoming).await;
        tracing::info!(%method, path = %uri.path(), function = %url.binary, status = response.status().as_u16(), %request_id, "function URL");
        return response;
    }
    let Some(route) = api.routes.find(method.as_str(), uri.path()) else {
        return api_gateway_message(StatusCode::NOT_FOUND, "Not Found");
    };
    let mut event = build_event(&incoming, &route, None);
    let response = match authorize(api, &route, &event, headers).await {
        Ok(Some(context)) => {
            event["requestContext"]["authorizer"] = serde_json::json!({ "lambda": context });
            integrate(api, &route, &event, request_id).await
        }
        Ok(None) => integrate(api, &route, &event, request_id).await,
        Err(denied) => denied,
    };
    tracing::info!(%method, path = %uri.path(), route = %route.route_key, status = response.status().as_u16(), %request_id);
    response
}

/// Invokes the route's function within the integration timeout and translates its answer.
async fn integrate<I: Invoker>(api: &HttpApi<I>, route: &RouteMatch, event: &Value, request_id: &str) -> Response {
    let event = event.to_string().into_bytes();
    let answer = tokio::time::timeout(api.timeout, api.invoker.invoke(&route.function, event)).await;
    match answer {
        Ok(Ok(payload)) => match translate_response(&payload) {
            Ok(out) => {
                let mut response = Response::new(Body::from(out.body));
                *response.status_mut() = out.status;
                *response.headers_mut() = out.headers;
                response
            }
            Err(err) => bad_gateway(&route.function, &err.to_string(), request_id),
        },
        Ok(Err(err)) => bad_gateway(&route.function, &err.to_string(), request_id),
        Err(_) => {
            tracing::warn!(function = %route.function, %request_id, "integration timed out");
            let msg = format!("the function did not answer within {} s", api.timeout.as_secs());
            envelope(&ApiError::new(504, "INTEGRATION_TIMEOUT", msg), request_id)
        }
    }
}

/// Invokes a function URL's function (`AuthType: NONE`: the function authenticates its callers) with
/// the payload 2.0 event a function URL sends (route `$default`), and answers with its response: in
/// `RESPONSE_STREAM` mode, the body as the function writes it. No API Gateway timeout applies; the
/// function's own does.
async fn function_url(host: Option<&FunctionHost>, url: &FunctionUrl, incoming: &IncomingRequest<'_>) -> Response {
    let request_id = incoming.request_id.as_str();
    let Some(host) = host else {
        return bad_gateway(&url.binary, "function URLs need --functions-dir", request_id);
    };
    let route = RouteMatch {
        function: url.binary.clone(),
        route_key: "$default".into(),
        path_parameters: std::collections::HashMap::new(),
        authorizer: None,
    };
    let event = build_event(incoming, &route, None).to_string().into_bytes();
    let translated = |payload: &[u8]| translate_response(payload).map_err(|e| e.to_string());
    match host.invoke_streaming(&url.binary, event).await {
        Ok(Streamed::Buffered(payload)) => match translated(&payload) {
            Ok(out) => {
                let mut response = Response::new(Body::from(out.body));
                *response.status_mut() = out.status;
                *response.headers_mut() = out.headers;
                response
            }
            Err(err) => bad_gateway(&url.binary, &err, request_id),
        },
        Ok(Streamed::Stream { prelude, body }) if url.streaming => match translated(&prelude) {
            Ok(out) => {
                let chunks = futures::stream::unfold(body, |mut body| async move {
                    body.recv().await.map(|b| (Ok::<_, std::convert::Infallible>(b), body))
                });
                let mut response = Response::new(Body::from_stream(chunks));
                *response.status_mut() = out.status;
                *response.headers_mut() = out.headers;
                response
            }
            Err(err) => bad_gateway(&url.binary, &err, request_id),
        },
        Ok(Streamed::Stream { .. }) => bad_gateway(&url.binary, "it streamed to a BUFFERED function URL", request_id),
        Err(err) => bad_gateway(&url.binary, &err.to_string(), request_id),
    }
}

/// Runs the route's authorizer: its context on allow, or API Gateway's own 401/403/500.
async fn authorize<I: Invoker>(
    api: &HttpApi<I>,
    route: &RouteMatch,
    event: &Value,
    headers: &HeaderMap,
) -> Result<Option<Value>, Response> {
    let Some(name) = route.authorizer.as_deref() else {
        return Ok(None);
    };
    let decision = match api.auth.authorizers.get(name) {
        None => Decision::Failed(format!("authorizer {name} is not defined")),
        Some(def) => run_authorizer(api, def, event, headers).await,
    };
    match decision {
        Decision::Allow(context) => Ok(Some(context)),
        Decision::Unauthorized => Err(api_gateway_message(StatusCode::UNAUTHORIZED, "Unauthorized")),
        Decision::Forbidden => Err(api_gateway_message(StatusCode::FORBIDDEN, "Forbidden")),
        Decision::Failed(cause) => {
            tracing::error!(authorizer = %name, %cause, "authorizer failed");
            Err(api_gateway_message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
            ))
        }
    }
}

async fn run_authorizer<I: Invoker>(
    api: &HttpApi<I>,
    def: &AuthorizerDef,
    event: &Value,
    headers: &HeaderMap,
) -> Decision {
    let Some(auth_event) = authorizer_event(def, event, headers) else {
        return Decision::Unauthorized;
    };
    let call = api.invoker.invoke(&def.function, auth_event.to_string().into_bytes());
    match tokio::time::timeout(api.timeout, call).await {
        Ok(Ok(answer)) => decide(&answer),
        Ok(Err(err)) => Decision::Failed(err.to_string()),
        Err(_) => Decision::Failed("the authorizer timed out".into()),
    }
}

/// API Gateway's own answers (no route, body too large) are `{"message": "…"}`, not our envelope.
fn api_gateway_message(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "message": message }).to_string();
    (status, [(http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn bad_gateway(function: &str, cause: &str, request_id: &str) -> Response {
    tracing::error!(%function, %request_id, %cause, "function gave no valid response");
    let err = ApiError::new(
        502,
        "BAD_GATEWAY",
        "the function failed to answer; quote the request id when reporting it",
    );
    envelope(&err, request_id)
}

fn envelope(err: &ApiError, request_id: &str) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_GATEWAY);
    (
        status,
        [(http::header::CONTENT_TYPE, "application/json")],
        err.to_body(request_id),
    )
        .into_response()
}

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("apigw-requestid", value);
    }
    response
}

#[cfg(test)]
mod tests;
