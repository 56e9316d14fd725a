//! `/api/v1/tools`, `/api/v1/prompts`, `/api/v1/resources`: what a tenant registers for its MCP
//! clients, plus `POST /tools/{name}/execute` and `POST /prompts/{name}/generate`. Mutations are
//! audited.

use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use shared::audit::AuditLog;
use shared::ids::IdKind;
use shared::registered::endpoint::EndpointPolicy;
use shared::registered::service;
use shared::registered::store::RegistryStore;
use shared::registered::{Kind, RegistryError};
use shared::ApiError;

use crate::audit::{self, AuditDeps};
use crate::http;

type Result = std::result::Result<Response<Body>, lambda_http::Error>;

/// Largest request body (a tool's schema, a template or a resource's content, with room to spare).
pub const MAX_BODY_BYTES: usize = 128 * 1024;

/// What the handlers need.
pub struct RegistryDeps<S, A> {
    pub store: S,
    pub audit: AuditDeps<A>,
    pub policy: EndpointPolicy,
}

/// The path parameter naming an item of `kind`, checked against its format (404 when it cannot name one).
fn path_key(req: &Request, kind: Kind) -> std::result::Result<String, ApiError> {
    http::path_id(req, IdKind::Registered(kind))
}

fn plural(kind: Kind) -> &'static str {
    match kind {
        Kind::Tool => "tools",
        Kind::Prompt => "prompts",
        Kind::Resource => "resources",
    }
}

/// One place that maps registry errors to HTTP.
#[must_use]
pub fn api_error(err: &RegistryError, request_id: &str) -> ApiError {
    match err {
        RegistryError::EndpointFailed(_) => ApiError::new(502, "TOOL_ENDPOINT_FAILED", err.to_string()),
        RegistryError::Invalid { field, .. } => {
            ApiError::bad_request("INVALID_REQUEST", err.to_string()).with_details(json!({"field": field}))
        }
        RegistryError::NotFound { kind, .. } => ApiError::not_found(kind.not_found_code(), err.to_string()),
        RegistryError::Exists { .. } => ApiError::new(409, "ALREADY_REGISTERED", err.to_string()),
        RegistryError::LimitReached => ApiError::new(409, "REGISTRY_LIMIT_REACHED", err.to_string()),
        RegistryError::Unknown(e) => {
            tracing::error!(error = %e, %request_id, "registry operation failed");
            ApiError::internal()
        }
    }
}

fn body(req: &Request) -> std::result::Result<Value, ApiError> {
    http::json_body(req, MAX_BODY_BYTES)
}

/// `GET /api/v1/{kind}s`.
pub async fn list<S: RegistryStore, A: AuditLog>(deps: &RegistryDeps<S, A>, kind: Kind, req: Request) -> Result {
    Ok(http::for_principal(&req, |principal, rid| async move {
        let items = deps
            .store
            .list(&principal.tenant, kind)
            .await
            .map_err(|e| api_error(&e, &rid))?;
        Ok(http::json(200, &json!({ plural(kind): items })))
    })
    .await)
}

/// `GET /api/v1/{kind}s/{key}`.
pub async fn get<S: RegistryStore, A: AuditLog>(deps: &RegistryDeps<S, A>, kind: Kind, req: Request) -> Result {
    let key = path_key(&req, kind);
    Ok(http::for_principal(&req, |principal, rid| async move {
        let item = service::get(&deps.store, &principal, kind, &key?)
            .await
            .map_err(|e| api_error(&e, &rid))?;
        Ok(http::json(200, &item))
    })
    .await)
}

/// `POST /api/v1/{kind}s`; audited.
pub async fn create<S: RegistryStore, A: AuditLog>(deps: &RegistryDeps<S, A>, kind: Kind, req: Request) -> Result {
    let parsed = body(&req);
    let target = parsed
        .as_ref()
        .ok()
        .and_then(|b| b[kind.key_field()].as_str().map(str::to_owned));
    let response = http::for_principal(&req, |principal, rid| async move {
        let doc = service::register(&deps.store, &principal, kind, &parsed?, deps.policy).await;
        Ok(http::json(201, &doc.map_err(|e| api_error(&e, &rid))?))
    })
    .await;
    audit::record(&deps.audit, &req, target, &response).await;
    Ok(response)
}

/// `DELETE /api/v1/{kind}s/{key}`; audited.
pub async fn delete<S: RegistryStore, A: AuditLog>(deps: &RegistryDeps<S, A>, kind: Kind, req: Request) -> Result {
    let (key, req) = (path_key(&req, kind), &req);
    let response = http::for_principal(req, |principal, rid| {
        let key = key.clone();
        async move {
            let key = key?;
            service::delete(&deps.store, &principal, kind, &key)
                .await
                .map_err(|e| api_error(&e, &rid))?;
            Ok(http::json(200, &json!({"deleted": key})))
        }
    })
    .await;
    audit::record(&deps.audit, req, key.ok(), &response).await;
    Ok(response)
}

/// `POST /api/v1/tools/{name}/execute` with `{"arguments": {…}}`; audited.
pub async fn execute<S: RegistryStore, A: AuditLog>(deps: &RegistryDeps<S, A>, req: Request) -> Result {
    let (name, req) = (path_key(&req, Kind::Tool), &req);
    let response = http::for_principal(req, |principal, rid| {
        let name = name.clone();
        async move {
            let name = name?;
            let args = body(req)?.get("arguments").cloned().unwrap_or_else(|| json!({}));
            let out = service::execute(&deps.store, &principal, &name, &args, deps.policy).await;
            Ok(http::json(
                200,
                &json!({"tool": name, "result": out.map_err(|e| api_error(&e, &rid))?}),
            ))
        }
    })
    .await;
    audit::record(&deps.audit, req, name.ok(), &response).await;
    Ok(response)
}

/// `POST /api/v1/prompts/{name}/generate` with `{"arguments": {…}}`: the rendered messages.
pub async fn generate<S: RegistryStore, A: AuditLog>(deps: &RegistryDeps<S, A>, req: Request) -> Result {
    let (name, req) = (path_key(&req, Kind::Prompt), &req);
    Ok(http::for_principal(req, |principal, rid| async move {
        let name = name?;
        let args = body(req)?
            .get("arguments")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let (prompt, text) = service::generate(&deps.store, &principal, &name, &args)
            .await
            .map_err(|e| api_error(&e, &rid))?;
        let messages = json!([{"role": "user", "content": {"type": "text", "text": text}}]);
        Ok(http::json(
            200,
            &json!({"name": name, "description": prompt["description"], "messages": messages}),
        ))
    })
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_endpoint_is_a_502_and_a_bad_field_a_400_naming_it() {
        let failed = api_error(&RegistryError::EndpointFailed("the endpoint answered 503".into()), "r");
        assert_eq!((failed.status, failed.code), (502, "TOOL_ENDPOINT_FAILED"));
        assert_eq!(failed.message, "the endpoint answered 503");
        let invalid = RegistryError::Invalid {
            field: "input_schema".into(),
            message: "is not a valid JSON Schema".into(),
        };
        let invalid = api_error(&invalid, "r");
        assert_eq!((invalid.status, invalid.code), (400, "INVALID_REQUEST"));
        assert_eq!(invalid.details, Some(json!({"field": "input_schema"})));
        let full = api_error(&RegistryError::LimitReached, "r");
        assert_eq!((full.status, full.code), (409, "REGISTRY_LIMIT_REACHED"));
    }
}
