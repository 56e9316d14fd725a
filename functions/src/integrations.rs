//! `/api/v1/integrations`: a tenant's integrations (a model configuration with a credential
//! reference, and the registered tools, resources and prompts it exposes). Every answer that shows
//! one carries its version as an `ETag`; a `PUT` must name the version it replaces (`If-Match` or the
//! body's `version`), a `DELETE` may. Creating, replacing and deleting are audited.

use chrono::Utc;
use lambda_http::Request;
use serde_json::{json, Value};
use shared::ids::IdKind;
use shared::integrations::requests::{etag, if_match};
use shared::integrations::store::IntegrationStore;
use shared::integrations::{service, Integration, Precondition};
use shared::models::ModelCatalog;
use shared::tasks::listing::TaskListing;
use shared::ApiError;

use crate::api::requests::{id_cursor, page_limit, IntegrationPath, NewItem, PathKind};
use crate::api::{ApiRequest, Authorized, Reply};
use crate::http;

/// What the handlers need: the store, the model catalog a configuration is checked against, and the
/// tasks (a delete looks for a completion still using the integration).
pub struct IntegrationDeps<S, T> {
    pub store: S,
    pub catalog: ModelCatalog,
    pub tasks: T,
}

/// Integrations in one page of `GET /api/v1/integrations` by default, and at most.
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 100;

/// `GET /api/v1/integrations?limit=&cursor=`.
pub struct IntegrationsPage {
    pub limit: usize,
    pub after: Option<String>,
}

impl ApiRequest for IntegrationsPage {
    fn parse(req: &Request) -> Result<Self, ApiError> {
        Ok(Self {
            limit: page_limit(req, DEFAULT_PAGE, MAX_PAGE)?,
            after: id_cursor(req, IdKind::Integration)?,
        })
    }
}

/// A write on one integration: its id, the `If-Match` it names, and (for a `PUT`) the body.
pub struct Versioned {
    pub id: String,
    pub expected: Precondition,
    pub body: Value,
}

fn precondition(req: &Request) -> Result<Precondition, ApiError> {
    match req.headers().get("if-match") {
        None => Ok(Precondition::None),
        Some(v) => Ok(if_match(v.to_str().unwrap_or_default())?),
    }
}

impl ApiRequest for Versioned {
    fn parse(req: &Request) -> Result<Self, ApiError> {
        let id = http::path_id(req, IdKind::Integration)?;
        let expected = precondition(req)?;
        let body = if req.method() == lambda_http::http::Method::PUT {
            http::json_body(req, IntegrationPath::MAX_BODY_BYTES)?
        } else {
            Value::Null
        };
        Ok(Self { id, expected, body })
    }

    fn target(&self) -> Option<String> {
        Some(self.id.clone())
    }

    fn target_unparsed(req: &Request) -> Option<String> {
        http::path_id(req, IdKind::Integration).ok()
    }
}

/// `status` with the integration, its version as the `ETag`.
fn shown(status: u16, integration: &Integration) -> Reply {
    Reply::new(status, integration).with_header("etag", etag(integration.version))
}

/// `POST /api/v1/integrations`: the stored integration at version 1 (`201`, with `Location`).
///
/// # Errors
/// A credential's value in the body (`RAW_CREDENTIAL`), the first wrong field, the tenant's limit, a
/// store failure.
pub async fn create<S: IntegrationStore, T>(
    deps: &IntegrationDeps<S, T>,
    req: Authorized<NewItem<IntegrationPath>>,
) -> Result<Reply, ApiError> {
    let made = service::create(
        &deps.store,
        &deps.catalog,
        &req.principal,
        &req.request.body,
        Utc::now(),
    )
    .await?;
    let location = format!("/api/v1/integrations/{}", made.integration_id);
    Ok(shown(201, &made)
        .with_header("location", location)
        .about(made.integration_id.clone()))
}

/// `GET /api/v1/integrations?limit=&cursor=`: the tenant's integrations, newest first; `next_cursor`
/// when more follow.
///
/// # Errors
/// A bad `limit` or `cursor` (`400`), a store failure.
pub async fn list<S: IntegrationStore, T>(
    deps: &IntegrationDeps<S, T>,
    req: Authorized<IntegrationsPage>,
) -> Result<Reply, ApiError> {
    let r = &req.request;
    let page = service::list(&deps.store, &req.principal, r.limit, r.after.as_deref()).await?;
    Ok(Reply::ok(
        &json!({"integrations": page.integrations, "next_cursor": page.next_cursor}),
    ))
}

/// `GET /api/v1/integrations/{integrationID}`.
///
/// # Errors
/// `INTEGRATION_NOT_FOUND` (another tenant's too), a store failure.
pub async fn get<S: IntegrationStore, T>(
    deps: &IntegrationDeps<S, T>,
    req: Authorized<crate::api::requests::Id<IntegrationPath>>,
) -> Result<Reply, ApiError> {
    Ok(shown(
        200,
        &service::get(&deps.store, &req.principal, &req.request.id).await?,
    ))
}

/// `PUT /api/v1/integrations/{integrationID}`: the replaced integration at its next version.
///
/// # Errors
/// No version named (`428`), a stale one (`412`), a credential's value or a wrong field (`400`),
/// `INTEGRATION_NOT_FOUND`, a store failure.
pub async fn replace<S: IntegrationStore, T>(
    deps: &IntegrationDeps<S, T>,
    req: Authorized<Versioned>,
) -> Result<Reply, ApiError> {
    let Versioned { id, expected, body } = &req.request;
    let replaced = service::replace(
        &deps.store,
        &deps.catalog,
        &req.principal,
        id,
        body,
        *expected,
        Utc::now(),
    )
    .await?;
    Ok(shown(200, &replaced))
}

/// `DELETE /api/v1/integrations/{integrationID}`; with `If-Match`, only the version it names.
///
/// # Errors
/// A completion through it not finished yet (`409 INTEGRATION_IN_USE`), `INTEGRATION_NOT_FOUND`, a
/// stale version (`412`), a store failure.
pub async fn delete<S: IntegrationStore, T: TaskListing>(
    deps: &IntegrationDeps<S, T>,
    req: Authorized<Versioned>,
) -> Result<Reply, ApiError> {
    let Versioned { id, expected, .. } = &req.request;
    service::delete(&deps.store, &deps.tasks, &req.principal, id, *expected, Utc::now()).await?;
    Ok(Reply::ok(&json!({"deleted": id})))
}

#[cfg(test)]
mod tests;
