//! The WebSocket side of the gateway, as API Gateway runs a WebSocket API: the `$connect` route's
//! function decides the handshake (a non-2xx status refuses it), each message goes to the route its
//! selection field names (else `$default`) and a route with a route response sends the function's
//! `body` back, closing the socket invokes `$disconnect`, and the `@connections` management API
//! (`POST`, `GET`, `DELETE /@connections/{id}`, `410 GoneException` for a connection that is gone) is
//! what the functions push through, with `aws-sdk-apigatewaymanagement`.
//!
//! Limits as API Gateway's: a message of at most 128 KiB (a larger one closes the connection with
//! 1009), frames of at most 32 KiB.

pub mod routes;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::{DateTime, Utc};
use futures::{SinkExt, StreamExt};
use http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::invoke::Invoker;
use routes::{ws_event, WsEventContext, WsRoutes};

/// API Gateway's largest WebSocket message.
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024;
/// API Gateway's largest WebSocket frame.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;

/// What goes out on a connection.
#[derive(Debug)]
enum Outgoing {
    Text(String),
    Close(u16, &'static str),
}

/// A live connection, as the management API describes it.
struct Connection {
    tx: mpsc::UnboundedSender<Outgoing>,
    connected_at: DateTime<Utc>,
    last_active: Mutex<DateTime<Utc>>,
    source_ip: String,
    user_agent: String,
}

/// The WebSocket API: its routes, the way to reach functions, and the live connections.
pub struct WebSocketApi<I> {
    pub routes: WsRoutes,
    pub invoker: I,
    /// API Gateway gives up on an integration after 29 s.
    pub timeout: Duration,
    pub stage: String,
    /// `host:port` clients and functions reach the API at.
    pub domain: String,
    connections: Mutex<HashMap<String, Arc<Connection>>>,
}

impl<I: Invoker> WebSocketApi<I> {
    #[must_use]
    pub fn new(routes: WsRoutes, invoker: I, timeout: Duration, stage: String, domain: String) -> Self {
        Self {
            routes,
            invoker,
            timeout,
            stage,
            domain,
            connections: Mutex::new(HashMap::new()),
        }
    }

    fn connection(&self, id: &str) -> Option<Arc<Connection>> {
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    /// How many connections are open.
    #[must_use]
    pub fn open_connections(&self) -> usize {
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    fn context<'a>(
        &'a self,
        route_key: &'a str,
        event_type: &'a str,
        id: &'a str,
        at: i64,
        ip: &'a str,
    ) -> WsEventContext<'a> {
        WsEventContext {
            route_key,
            event_type,
            connection_id: id,
            connected_at_ms: at,
            api_id: &self.routes.api_id,
            domain: &self.domain,
            stage: &self.stage,
            source_ip: ip,
        }
    }

    /// Invokes `function` with `event`: its `statusCode` (200 when it gives none) and `body`.
    async fn invoke(&self, function: &str, event: &Value) -> Result<(u16, Option<String>), String> {
        let call = self.invoker.invoke(function, event.to_string().into_bytes());
        let payload = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(payload)) => payload,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err(format!("{function} did not answer within {:?}", self.timeout)),
        };
        let answer: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
        let status = answer
            .get("statusCode")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(200);
        let body = answer.get("body").and_then(Value::as_str).map(str::to_owned);
        Ok((status, body))
    }
}

/// The router: the management API under `/@connections` (with or without the stage in front), and
/// the WebSocket handshake on any other path.
pub fn router<I: Invoker>(api: Arc<WebSocketApi<I>>) -> Router {
    let manage = post(post_to::<I>).get(describe::<I>).delete(close::<I>);
    Router::new()
        .route("/@connections/{id}", manage.clone())
        .route("/{stage}/@connections/{id}", manage)
        .fallback(handshake::<I>)
        .with_state(api)
}

fn connection_id() -> String {
    // API Gateway's ids are 16 characters of base64 ending in `=`; these are unique and URL-safe.
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{}=", &id[..15])
}

async fn handshake<I: Invoker>(
    State(api): State<Arc<WebSocketApi<I>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: http::Uri,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    // API Gateway serves the API at its stage's path only.
    if uri.path().trim_end_matches('/') != format!("/{}", api.stage) {
        return (StatusCode::FORBIDDEN, r#"{"message":"Forbidden"}"#).into_response();
    }
    let id = connection_id();
    let connected_at = Utc::now();
    let ip = peer.ip().to_string();
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    if let Some(route) = api.routes.routes.get("$connect") {
        let ctx = api.context("$connect", "CONNECT", &id, connected_at.timestamp_millis(), &ip);
        let event = ws_event(&ctx, Some(&headers), Some(&query), None);
        match api.invoke(&route.function, &event).await {
            Ok((status, _)) if (200..300).contains(&status) => {}
            Ok((status, body)) => {
                // The query string may hold a token: it is never logged.
                tracing::info!(connection = %id, status, "WebSocket handshake refused by $connect");
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
                return (status, body.unwrap_or_default()).into_response();
            }
            Err(e) => {
                tracing::warn!(connection = %id, error = %e, "$connect failed");
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    r#"{"message": "Internal server error"}"#,
                )
                    .into_response();
            }
        }
    }
    let user_agent = headers.get("user-agent").cloned().unwrap_or_default();
    upgrade
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| serve(api, socket, id, connected_at, ip, user_agent))
}

async fn serve<I: Invoker>(
    api: Arc<WebSocketApi<I>>,
    socket: WebSocket,
    id: String,
    connected_at: DateTime<Utc>,
    ip: String,
    user_agent: String,
) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let connection = Arc::new(Connection {
        tx,
        connected_at,
        last_active: Mutex::new(connected_at),
        source_ip: ip.clone(),
        user_agent,
    });
    api.connections
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(id.clone(), Arc::clone(&connection));
    tracing::info!(connection = %id, "WebSocket connected");
    let writer = tokio::spawn(async move {
        while let Some(out) = rx.recv().await {
            let (message, last) = match out {
                Outgoing::Text(text) => (Message::Text(text.into()), false),
                Outgoing::Close(code, reason) => (
                    Message::Close(Some(CloseFrame {
                        code,
                        reason: reason.into(),
                    })),
                    true,
                ),
            };
            if sink.send(message).await.is_err() || last {
                break;
            }
        }
    });
    while let Some(frame) = stream.next().await {
        let text = match frame {
            Ok(Message::Text(text)) => text.to_string(),
            Ok(Message::Binary(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            Ok(Message::Close(_)) => break,
            Ok(_) => continue,
            Err(e) => {
                // A message past 128 KiB (or a frame past 32 KiB): API Gateway closes with 1009.
                tracing::info!(connection = %id, error = %e, "WebSocket read failed; closing");
                let _ = connection.tx.send(Outgoing::Close(1009, "Message too big"));
                break;
            }
        };
        *connection
            .last_active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Utc::now();
        let api = Arc::clone(&api);
        let (id, ip, tx) = (id.clone(), ip.clone(), connection.tx.clone());
        // API Gateway invokes the integration of each message on its own; a slow one holds up no other.
        tokio::spawn(async move { on_message(&api, &id, connected_at, &ip, &text, &tx).await });
    }
    api.connections
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(&id);
    let _ = connection.tx.send(Outgoing::Close(1000, ""));
    let _ = writer.await;
    if let Some(route) = api.routes.routes.get("$disconnect") {
        let ctx = api.context("$disconnect", "DISCONNECT", &id, connected_at.timestamp_millis(), &ip);
        if let Err(e) = api.invoke(&route.function, &ws_event(&ctx, None, None, None)).await {
            tracing::warn!(connection = %id, error = %e, "$disconnect failed");
        }
    }
    tracing::info!(connection = %id, "WebSocket disconnected");
}

async fn on_message<I: Invoker>(
    api: &WebSocketApi<I>,
    id: &str,
    connected_at: DateTime<Utc>,
    ip: &str,
    text: &str,
    tx: &mpsc::UnboundedSender<Outgoing>,
) {
    let Some((key, route)) = api.routes.select(text) else {
        let _ = tx.send(Outgoing::Text(r#"{"message": "Forbidden"}"#.into()));
        return;
    };
    let ctx = api.context(key, "MESSAGE", id, connected_at.timestamp_millis(), ip);
    match api
        .invoke(&route.function, &ws_event(&ctx, None, None, Some(text)))
        .await
    {
        Ok((_, Some(body))) if route.responds => {
            let _ = tx.send(Outgoing::Text(body));
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(connection = %id, route = key, error = %e, "message integration failed");
            let answer = json!({"message": "Internal server error", "connectionId": id});
            let _ = tx.send(Outgoing::Text(answer.to_string()));
        }
    }
}

fn gone() -> Response {
    let mut response = (StatusCode::GONE, r#"{"message":null}"#).into_response();
    response
        .headers_mut()
        .insert("x-amzn-errortype", http::HeaderValue::from_static("GoneException"));
    response
}

fn connection_of<I: Invoker>(api: &WebSocketApi<I>, path: &HashMap<String, String>) -> Option<Arc<Connection>> {
    api.connection(path.get("id")?)
}

/// `POST /@connections/{id}`: the body goes to the client as one text message.
async fn post_to<I: Invoker>(
    State(api): State<Arc<WebSocketApi<I>>>,
    Path(path): Path<HashMap<String, String>>,
    body: String,
) -> Response {
    if body.len() > MAX_MESSAGE_BYTES {
        return (StatusCode::PAYLOAD_TOO_LARGE, r#"{"message":"Message too long"}"#).into_response();
    }
    match connection_of(&api, &path) {
        Some(c) if c.tx.send(Outgoing::Text(body)).is_ok() => StatusCode::OK.into_response(),
        _ => gone(),
    }
}

/// `GET /@connections/{id}`: when it connected, from where, and when it was last active.
async fn describe<I: Invoker>(
    State(api): State<Arc<WebSocketApi<I>>>,
    Path(path): Path<HashMap<String, String>>,
) -> Response {
    let Some(c) = connection_of(&api, &path) else {
        return gone();
    };
    let last = *c.last_active.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    axum::Json(json!({
        "connectedAt": stamp(c.connected_at),
        "lastActiveAt": stamp(last),
        "identity": {"sourceIp": c.source_ip, "userAgent": c.user_agent},
    }))
    .into_response()
}

/// `DELETE /@connections/{id}`: closes the connection (its `$disconnect` runs).
async fn close<I: Invoker>(
    State(api): State<Arc<WebSocketApi<I>>>,
    Path(path): Path<HashMap<String, String>>,
) -> Response {
    match connection_of(&api, &path) {
        Some(c) if c.tx.send(Outgoing::Close(1000, "")).is_ok() => StatusCode::NO_CONTENT.into_response(),
        _ => gone(),
    }
}

#[cfg(test)]
mod tests;
