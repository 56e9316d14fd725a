//! `POST /api/v1/keys`, `GET /api/v1/keys`, `DELETE /api/v1/keys/{keyID}`: API key management (admin).
//! Bins: `keys-create`, `keys-list`, `keys-revoke`; a create and a revoke are audited.

use lambda_http::Request;
use serde::Deserialize;
use serde_json::json;
use shared::connections::publish;
use shared::connections::store::{ConnectionStore, Pusher};
use shared::keys::admin as key_admin;
use shared::keys::KeyStore;
use shared::ApiError;

use crate::api::requests::{Id, KeyPath, NoInput, PathKind};
use crate::api::{ApiRequest, Authorized, Reply};
use crate::http;

/// `POST /api/v1/keys` with `{"name": …, "role": …}`; the values are checked by the service.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    pub name: String,
    pub role: String,
}

impl ApiRequest for CreateKey {
    fn parse(req: &Request) -> Result<Self, ApiError> {
        http::json_body(req, KeyPath::MAX_BODY_BYTES)
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Creates a key in the caller's tenant and shows it, once.
///
/// # Errors
/// A bad name or role (`400`), a full tenant (`409`), a store failure.
pub async fn create<S: KeyStore>(store: &S, req: Authorized<CreateKey>) -> Result<Reply, ApiError> {
    let CreateKey { name, role } = &req.request;
    let created = key_admin::create_key(store, &req.principal, name, role, &now()).await?;
    let r = &created.record;
    let shown = json!({"key_id": r.key_id, "key": created.key.expose(), "name": r.name, "role": r.role,
                       "tenant": r.tenant, "created_at": r.created_at});
    Ok(Reply::new(201, &shown).about(r.key_id.clone()))
}

/// Lists the tenant's keys (metadata only).
///
/// # Errors
/// A store failure.
pub async fn list<S: KeyStore>(store: &S, req: Authorized<NoInput>) -> Result<Reply, ApiError> {
    let keys = key_admin::list_keys(store, &req.principal)
        .await
        .map_err(|e| ApiError::unknown("key store failed", &e))?;
    Ok(Reply::ok(&json!({ "keys": keys })))
}

/// What revoking a key needs: the keys, and, with the WebSocket API, the connections opened with them
/// and the way to close them.
pub struct Revocation<S, C, P> {
    pub keys: S,
    pub sockets: Option<(C, P)>,
}

/// Revokes a key of the tenant; effective on the next request (the authorizer does not cache), and
/// every WebSocket connection opened with it is told and closed.
///
/// # Errors
/// `KEY_NOT_FOUND` (also for another tenant's key), a store failure.
pub async fn revoke<S: KeyStore, C: ConnectionStore, P: Pusher>(
    deps: &Revocation<S, C, P>,
    req: Authorized<Id<KeyPath>>,
) -> Result<Reply, ApiError> {
    let revoked = key_admin::revoke_key(&deps.keys, &req.principal, &req.request.id).await?;
    if let Some((connections, pusher)) = &deps.sockets {
        let tenant = req.principal.tenant.as_str();
        // The key is revoked either way; a connection missed here is refused on its next message
        // only if its item went too, so a failure is logged for the operator.
        match publish::close_subject(connections, pusher, tenant, &req.request.id).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(key_id = %req.request.id, closed = n, "revoked key's connections closed"),
            Err(e) => tracing::error!(key_id = %req.request.id, error = %e, "revoked key's connections not closed"),
        }
    }
    Ok(Reply::ok(&revoked))
}

#[cfg(test)]
mod tests;
