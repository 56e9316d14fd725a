//! `/api/v1/tools`, `/api/v1/prompts`, `/api/v1/resources`: what a tenant registers for its MCP
//! clients, plus `POST /tools/{name}/execute` and `POST /prompts/{name}/generate`. One handler per
//! operation serves the three kinds, named by the route's path type (`ToolPath`, `PromptPath`,
//! `ResourcePath`): bin `tools-get` runs `get::<ToolPath, _>`. Mutations and executions are audited.

use std::sync::Arc;

use serde_json::{json, Value};
use shared::connections::publish::{resource_topic, TopicEvents};
use shared::connections::store::ConnectionStore;
use shared::connections::subscribe;
use shared::registered::endpoint::EndpointPolicy;
use shared::registered::service;
use shared::registered::store::RegistryStore;
use shared::registered::{key_of, Kind};
use shared::ApiError;

use crate::api::requests::{Id, IdWithBody, NewItem, NoInput, PromptPath, RegisteredPath, ResourcePath, ToolPath};
use crate::api::{Authorized, Reply};

/// What the handlers need.
pub struct RegistryDeps<S> {
    pub store: S,
    pub policy: EndpointPolicy,
    /// Where a resource's changes are published (`resource_update` to `resource:<uri>`; `None`:
    /// nowhere).
    pub events: Option<Arc<dyn TopicEvents>>,
}

impl<S> RegistryDeps<S> {
    /// Tells the subscribers of a registered resource that it changed (`created`, `updated` or
    /// `deleted`).
    async fn changed(&self, tenant: &str, kind: Kind, key: &str, change: &str) {
        if let (Kind::Resource, Some(events)) = (kind, &self.events) {
            let topics = [resource_topic(key)];
            let data = json!({"uri": key, "change": change});
            events.published(tenant, &topics, "resource_update", &data).await;
        }
    }
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
    let doc = service::register(&deps.store, &req.principal, K::check(&req.request.body, deps.policy)?).await?;
    // Subscriptions outlive what they name: a URI deleted and registered again tells its watchers.
    deps.changed(&req.principal.tenant, K::KIND, key_of(K::KIND, &doc), "created")
        .await;
    Ok(Reply::new(201, &doc))
}

/// `PUT /api/v1/{kind}s/{key}` (routed for resources): replaces the item with the body, checked as
/// a registration is; the key cannot change. A resource's subscribers get its `resource_update`.
///
/// # Errors
/// The document's field errors, another key in the body, not found, a store failure.
pub async fn replace<K: RegisteredPath, S: RegistryStore>(
    deps: &RegistryDeps<S>,
    req: Authorized<IdWithBody<K>>,
) -> Result<Reply, ApiError> {
    let IdWithBody { id: key, body, .. } = &req.request;
    let doc = service::replace(&deps.store, &req.principal, key, K::check(body, deps.policy)?).await?;
    deps.changed(&req.principal.tenant, K::KIND, key, "updated").await;
    Ok(Reply::ok(&doc))
}

/// `DELETE /api/v1/{kind}s/{key}`. A resource's subscribers get its `resource_update`.
///
/// # Errors
/// Not found, a store failure.
pub async fn delete<K: RegisteredPath, S: RegistryStore>(
    deps: &RegistryDeps<S>,
    req: Authorized<Id<K>>,
) -> Result<Reply, ApiError> {
    let key = &req.request.id;
    service::delete(&deps.store, &req.principal, K::KIND, key).await?;
    deps.changed(&req.principal.tenant, K::KIND, key, "deleted").await;
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
    let answer = service::execute(&deps.store, &req.principal, name, &args, deps.policy, None).await?;
    Ok(Reply::ok(&json!({"tool": name, "result": answer.value})))
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
    let (prompt, messages) = service::generate(&deps.store, &req.principal, name, &args).await?;
    Ok(Reply::ok(
        &json!({"name": name, "description": prompt["description"], "messages": messages}),
    ))
}

/// What `POST /api/v1/resources/{uri}/subscribe` needs: the registry and the WebSocket connections.
pub struct SubscribeDeps<S, C> {
    pub store: S,
    pub connections: C,
}

/// The longest connection id taken (API Gateway's are 16 characters).
pub const MAX_CONNECTION_ID_BYTES: usize = 128;

/// `POST /api/v1/resources/{uri}/subscribe` with `{"connection_id": …}`: the same subscription as a
/// WebSocket `subscribe` to `resource:<uri>`, for an open connection the caller opened (any other,
/// another tenant's included, is not found, exactly as an unknown one). The connection then gets the
/// resource's `resource_update` events.
///
/// # Errors
/// A body without a connection id, an unknown resource or connection, a connection that holds its
/// most topics already, a store failure.
pub async fn subscribe<S: RegistryStore, C: ConnectionStore>(
    deps: &SubscribeDeps<S, C>,
    req: Authorized<IdWithBody<ResourcePath>>,
) -> Result<Reply, ApiError> {
    let IdWithBody { id: uri, body, .. } = &req.request;
    let connection_id = connection_id_of(body)?;
    service::get(&deps.store, &req.principal, Kind::Resource, uri).await?;
    let now = chrono::Utc::now().timestamp();
    let connection = subscribe::own_connection(&deps.connections, &req.principal, connection_id, now).await?;
    let topic = resource_topic(uri);
    subscribe::subscribe(&deps.connections, &connection, &topic).await?;
    Ok(Reply::ok(&json!({"subscribed": topic, "connection_id": connection_id})))
}

/// The body's `connection_id`: the only field, 1 to [`MAX_CONNECTION_ID_BYTES`] visible ASCII.
fn connection_id_of(body: &Value) -> Result<&str, ApiError> {
    let refuse = || {
        ApiError::bad_request(
            "INVALID_REQUEST",
            format!(
                "the body must be {{\"connection_id\": …}}: a WebSocket client id of 1 to {MAX_CONNECTION_ID_BYTES} visible ASCII characters"
            ),
        )
        .with_details(json!({"field": "connection_id"}))
    };
    let only = body.as_object().filter(|o| o.len() == 1).ok_or_else(refuse)?;
    only.get("connection_id")
        .and_then(Value::as_str)
        .filter(|id| (1..=MAX_CONNECTION_ID_BYTES).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(refuse)
}

#[cfg(test)]
mod tests;
