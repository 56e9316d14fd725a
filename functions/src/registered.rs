//! `/api/v1/tools`, `/api/v1/prompts`, `/api/v1/resources`: what a tenant registers for its MCP
//! clients, plus `POST /tools/{name}/execute` and `POST /prompts/{name}/generate`. One handler per
//! operation serves the three kinds, named by the route's path type (`ToolPath`, `PromptPath`,
//! `ResourcePath`): bin `tools-get` runs `get::<ToolPath, _>`. Mutations and executions are audited.

use serde_json::{json, Value};
use shared::registered::endpoint::EndpointPolicy;
use shared::registered::service;
use shared::registered::store::RegistryStore;
use shared::registered::Kind;
use shared::ApiError;

use crate::api::requests::{Id, IdWithBody, NewItem, NoInput, PromptPath, RegisteredPath, ToolPath};
use crate::api::{Authorized, Reply};

/// What the handlers need.
pub struct RegistryDeps<S> {
    pub store: S,
    pub policy: EndpointPolicy,
}

fn plural(kind: Kind) -> &'static str {
    match kind {
        Kind::Tool => "tools",
        Kind::Prompt => "prompts",
        Kind::Resource => "resources",
    }
}

/// `GET /api/v1/{kind}s`.
///
/// # Errors
/// A store failure.
pub async fn list<K: RegisteredPath, S: RegistryStore>(
    deps: &RegistryDeps<S>,
    req: Authorized<NoInput>,
) -> Result<Reply, ApiError> {
    let items = deps.store.list(&req.principal.tenant, K::KIND).await?;
    Ok(Reply::ok(&json!({ plural(K::KIND): items })))
}

/// `GET /api/v1/{kind}s/{key}`.
///
/// # Errors
/// Not found (also another tenant's), a store failure.
pub async fn get<K: RegisteredPath, S: RegistryStore>(
    deps: &RegistryDeps<S>,
    req: Authorized<Id<K>>,
) -> Result<Reply, ApiError> {
    let item = service::get(&deps.store, &req.principal, K::KIND, &req.request.id).await?;
    Ok(Reply::ok(&item))
}

/// `POST /api/v1/{kind}s`.
///
/// # Errors
/// The document's field errors, a name already taken, a full registry, a store failure.
pub async fn create<K: RegisteredPath, S: RegistryStore>(
    deps: &RegistryDeps<S>,
    req: Authorized<NewItem<K>>,
) -> Result<Reply, ApiError> {
    let doc = service::register(&deps.store, &req.principal, K::KIND, &req.request.body, deps.policy).await?;
    Ok(Reply::new(201, &doc))
}

/// `DELETE /api/v1/{kind}s/{key}`.
///
/// # Errors
/// Not found, a store failure.
pub async fn delete<K: RegisteredPath, S: RegistryStore>(
    deps: &RegistryDeps<S>,
    req: Authorized<Id<K>>,
) -> Result<Reply, ApiError> {
    let key = &req.request.id;
    service::delete(&deps.store, &req.principal, K::KIND, key).await?;
    Ok(Reply::ok(&json!({"deleted": key})))
}

/// `POST /api/v1/tools/{name}/execute` with `{"arguments": {…}}`: the endpoint's result.
///
/// # Errors
/// An unknown tool, arguments its schema refuses, a failed endpoint (`502`), a store failure.
pub async fn execute<S: RegistryStore>(
    deps: &RegistryDeps<S>,
    req: Authorized<IdWithBody<ToolPath>>,
) -> Result<Reply, ApiError> {
    let IdWithBody { id: name, body, .. } = &req.request;
    let args = body.get("arguments").cloned().unwrap_or_else(|| json!({}));
    let result = service::execute(&deps.store, &req.principal, name, &args, deps.policy).await?;
    Ok(Reply::ok(&json!({"tool": name, "result": result})))
}

/// `POST /api/v1/prompts/{name}/generate` with `{"arguments": {…}}`: the rendered messages.
///
/// # Errors
/// An unknown prompt, a missing argument, a store failure.
pub async fn generate<S: RegistryStore>(
    deps: &RegistryDeps<S>,
    req: Authorized<IdWithBody<PromptPath>>,
) -> Result<Reply, ApiError> {
    let IdWithBody { id: name, body, .. } = &req.request;
    let args = body
        .get("arguments")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let (prompt, text) = service::generate(&deps.store, &req.principal, name, &args).await?;
    let messages = json!([{"role": "user", "content": {"type": "text", "text": text}}]);
    Ok(Reply::ok(
        &json!({"name": name, "description": prompt["description"], "messages": messages}),
    ))
}

#[cfg(test)]
mod tests;
