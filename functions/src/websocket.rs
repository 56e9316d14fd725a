//! The WebSocket API's routes (`WebSocketApi` in `template.yaml`): `$connect` (bin `ws-connect`)
//! authenticates and stores the connection, `$disconnect` (`ws-disconnect`) removes it, `$default`
//! (`ws-message`) answers every message through the route response. The protocol is in
//! `shared::connections::envelope`.
//!
//! A message is first counted against its connection's limit (`WS_MESSAGES_PER_MINUTE`, default 100:
//! past it, `RATE_LIMIT_EXCEEDED` with the seconds to wait), then checked against the envelope. The
//! first message of a connection gets the `welcome` event (its client id and the protocol's limits)
//! pushed before its own answer.

use chrono::Utc;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;
use shared::auth::authenticate::{Authenticator, Credentials};
use shared::auth::AuthOutcome;
use shared::connections::envelope::{self, ErrorCode, Inbound, ProtocolError};
use shared::connections::store::{ConnectionStore, Pusher};
use shared::connections::{Connection, CONNECTION_TTL_SECS};
use shared::keys::KeyStore;
use shared::ratelimit::{Admission, Bucket, Limit, RateLimiter};

/// What `$connect` needs: the connections, and the authenticator the HTTP API's authorizer uses.
pub struct ConnectDeps<C, K, L> {
    pub connections: C,
    pub auth: Authenticator<K, L>,
}

/// What `$default` needs: the connections, the way to push, and the per-connection message limit.
pub struct MessageDeps<C, P, L> {
    pub connections: C,
    pub pusher: P,
    pub limiter: L,
    pub messages_per_minute: u32,
}

fn connection_id(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::WebSocket(ctx)) => ctx.connection_id.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

fn answer(status: u16, body: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(status).unwrap_or_default();
    response
}

/// `$connect`: the credentials of the handshake (`X-API-Key`, `Authorization: Bearer <JWT>`, or for
/// browsers, which cannot set headers, a `token` query parameter holding either), checked as the HTTP
/// API's authorizer checks them. `200` stores the connection; `401`, `403` or `429` refuse the handshake.
///
/// # Errors
/// When the key store or the table cannot be reached (API Gateway then refuses the handshake).
pub async fn connect<C: ConnectionStore, K: KeyStore, L: RateLimiter>(
    deps: &ConnectDeps<C, K, L>,
    req: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    // A `token` query parameter is an API key (`mcpf_…`) or a JWT; headers win over it.
    let token = req.query_string_parameters_ref().and_then(|q| q.first("token"));
    let (key_token, jwt_token) = match token {
        Some(t) if t.starts_with(shared::auth::apikey::PREFIX) => (Some(t), None),
        Some(t) => (None, Some(format!("Bearer {t}"))),
        None => (None, None),
    };
    let credentials = match (header("x-api-key"), header("authorization")) {
        (None, None) => Credentials {
            api_key: key_token,
            authorization: jwt_token.as_deref(),
        },
        (api_key, authorization) => Credentials { api_key, authorization },
    };
    let now = Utc::now();
    let id = connection_id(&req);
    let (status, code) = match deps.auth.decide(credentials, "$connect", now).await? {
        AuthOutcome::Allowed(principal) => {
            let connection = Connection {
                connection_id: id.clone(),
                tenant: principal.tenant.to_string(),
                subject: principal.subject,
                role: principal.role,
                connected_at_ms: now.timestamp_millis(),
                expires_at: now.timestamp() + CONNECTION_TTL_SECS,
            };
            deps.connections.put(&connection).await?;
            tracing::info!(connection = %id, tenant = %connection.tenant, "WebSocket connected");
            return Ok(answer(200, String::new()));
        }
        AuthOutcome::Unauthenticated { .. } => (401, ErrorCode::InvalidApiKey),
        AuthOutcome::Forbidden { .. } => (403, ErrorCode::UnauthorizedAccess),
        AuthOutcome::RateLimited { .. } => (429, ErrorCode::RateLimitExceeded),
    };
    tracing::info!(connection = %id, status, "WebSocket handshake refused");
    Ok(answer(status, json!({"error_code": code.as_str()}).to_string()))
}

/// `$disconnect`: forgets the connection (best effort: its item also expires).
///
/// # Errors
/// When the table cannot be reached.
pub async fn disconnect<C: ConnectionStore>(
    connections: &C,
    req: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let id = connection_id(&req);
    connections.delete(&id).await?;
    tracing::info!(connection = %id, "WebSocket disconnected");
    Ok(answer(200, String::new()))
}

/// `$default`: one message, answered through the route response.
///
/// # Errors
/// When the table cannot be reached (API Gateway then answers an internal error).
pub async fn message<C: ConnectionStore, P: Pusher, L: RateLimiter>(
    deps: &MessageDeps<C, P, L>,
    req: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let id = connection_id(&req);
    let body = std::str::from_utf8(req.body().as_ref()).unwrap_or_default();
    let now = Utc::now();
    let Some(connection) = deps.connections.get(&id).await? else {
        let refused = ProtocolError::new(ErrorCode::UnauthorizedAccess, "this connection is not open");
        return Ok(answer(200, envelope::error(&refused)));
    };
    let bucket = Bucket {
        tenant: &connection.tenant,
        subject: &format!("ws:{id}"),
    };
    let limit = Limit {
        requests: deps.messages_per_minute,
        per_secs: 60,
    };
    if let Admission::Limited { retry_after_secs } = deps.limiter.admit(bucket, limit, now.timestamp_millis()).await? {
        let limited = ProtocolError::new(
            ErrorCode::RateLimitExceeded,
            format!("at most {} messages a minute per connection", deps.messages_per_minute),
        )
        .with_details(json!({"retry_after_secs": retry_after_secs, "limit_per_minute": deps.messages_per_minute}));
        tracing::warn!(connection = %id, tenant = %connection.tenant, "WebSocket rate limit exceeded");
        return Ok(answer(200, envelope::error(&limited)));
    }
    if deps
        .connections
        .received(&id, now.timestamp_millis())
        .await?
        .is_some_and(|r| r.first)
    {
        if let Err(e) = deps
            .pusher
            .push(&id, &envelope::welcome(&id, deps.messages_per_minute))
            .await
        {
            tracing::warn!(connection = %id, error = %e, "welcome not pushed");
        }
    }
    let reply = match envelope::parse(body) {
        Err(refused) => envelope::error(&refused),
        Ok(Inbound::Heartbeat { message_id }) => {
            #[allow(clippy::cast_precision_loss)]
            let uptime = (now.timestamp_millis() - connection.connected_at_ms) as f64 / 1000.0;
            let server_time = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            envelope::heartbeat(&message_id, &id, uptime, &server_time)
        }
        Ok(Inbound::Request { message_id, method, .. }) => {
            let unknown = ProtocolError::new(
                ErrorCode::InvalidMessageFormat,
                format!("unknown method {method}: this server answers heartbeats only so far"),
            )
            .about(Some(&message_id))
            .with_details(json!({"method": method}));
            envelope::error(&unknown)
        }
    };
    Ok(answer(200, reply))
}

#[cfg(test)]
mod tests;
