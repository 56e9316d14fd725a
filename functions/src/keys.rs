//! `POST /api/v1/keys`, `GET /api/v1/keys`, `DELETE /api/v1/keys/{keyID}`: API key management (admin).

use lambda_http::{Body, Error, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::ids::IdKind;
use shared::keys::admin::{self as key_admin, CreateKeyError, RevokeKeyError};
use shared::keys::KeyStore;
use shared::ApiError;

use crate::audit::{self, AuditDeps};
use crate::{auth, http};
use shared::audit::AuditLog;

/// What the mutating key handlers need: the store, and the audit log they record to.
pub struct KeyDeps<S, A> {
    pub store: S,
    pub audit: AuditDeps<A>,
}

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 4 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    name: String,
    role: String,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn internal(err: &anyhow::Error, request_id: &str) -> Response<Body> {
    tracing::error!(error = %err, %request_id, "key store failed");
    http::error(&ApiError::internal(), request_id)
}

/// Creates a key and shows it once; audited.
///
/// # Errors
/// Never: every outcome is an HTTP response.
pub async fn create<S: KeyStore, A: AuditLog>(deps: &KeyDeps<S, A>, req: Request) -> Result<Response<Body>, Error> {
    let (response, target) = create_key(&deps.store, &req).await;
    audit::record(&deps.audit, &req, target, &response).await;
    Ok(response)
}

async fn create_key<S: KeyStore>(store: &S, req: &Request) -> (Response<Body>, Option<String>) {
    let request_id = http::request_id(req);
    let principal = match auth::principal(req) {
        Ok(p) => p,
        Err(e) => return (http::error(&e, &request_id), None),
    };
    let body: CreateKey = match http::json_body(req, MAX_BODY_BYTES) {
        Ok(b) => b,
        Err(e) => return (http::error(&e, &request_id), None),
    };
    match key_admin::create_key(store, &principal, &body.name, &body.role, &now()).await {
        Ok(created) => {
            let r = &created.record;
            let shown = json!({"key_id": r.key_id, "key": created.key.expose(), "name": r.name, "role": r.role,
                               "tenant": r.tenant, "created_at": r.created_at});
            (http::json(201, &shown), Some(r.key_id.clone()))
        }
        Err(e @ (CreateKeyError::InvalidName | CreateKeyError::InvalidRole(_))) => {
            let err = ApiError::bad_request("INVALID_KEY_REQUEST", e.to_string());
            (http::error(&err, &request_id), None)
        }
        Err(e @ CreateKeyError::LimitReached) => (
            http::error(&ApiError::new(409, "KEY_LIMIT_REACHED", e.to_string()), &request_id),
            None,
        ),
        Err(CreateKeyError::Unknown(e)) => (internal(&e, &request_id), None),
    }
}

/// Lists the tenant's keys (metadata only).
///
/// # Errors
/// Never: every outcome is an HTTP response.
pub async fn list<S: KeyStore>(store: &S, req: Request) -> Result<Response<Body>, Error> {
    let request_id = http::request_id(&req);
    let principal = match auth::principal(&req) {
        Ok(p) => p,
        Err(e) => return Ok(http::error(&e, &request_id)),
    };
    match key_admin::list_keys(store, &principal).await {
        Ok(keys) => Ok(http::json(200, &json!({ "keys": keys }))),
        Err(e) => Ok(internal(&e, &request_id)),
    }
}

/// Revokes a key of the tenant; effective on the next request (the authorizer does not cache); audited.
///
/// # Errors
/// Never: every outcome is an HTTP response.
pub async fn revoke<S: KeyStore, A: AuditLog>(deps: &KeyDeps<S, A>, req: Request) -> Result<Response<Body>, Error> {
    let key_id = http::path_id(&req, IdKind::Key);
    let response = revoke_key(&deps.store, &req, key_id.clone()).await;
    audit::record(&deps.audit, &req, key_id.ok(), &response).await;
    Ok(response)
}

async fn revoke_key<S: KeyStore>(
    store: &S,
    req: &Request,
    key_id: std::result::Result<String, ApiError>,
) -> Response<Body> {
    let request_id = http::request_id(req);
    let checked = auth::principal(req).and_then(|p| Ok((p, key_id?)));
    let (principal, key_id) = match checked {
        Ok(found) => found,
        Err(e) => return http::error(&e, &request_id),
    };
    match key_admin::revoke_key(store, &principal, &key_id).await {
        Ok(record) => http::json(200, &record),
        Err(e @ RevokeKeyError::NotFound(_)) => {
            http::error(&ApiError::not_found("KEY_NOT_FOUND", e.to_string()), &request_id)
        }
        Err(RevokeKeyError::Unknown(e)) => internal(&e, &request_id),
    }
}

#[cfg(test)]
mod tests;
