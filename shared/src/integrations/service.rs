//! The operations behind `/api/v1/integrations`, each on the caller's tenant only.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::requests::{replacement, spec};
use super::store::{IntegrationStore, Page, Written};
use super::{Integration, IntegrationError, Precondition};
use crate::auth::Principal;
use crate::models::ModelCatalog;

fn written(who: &Principal, now: DateTime<Utc>) -> Written {
    Written {
        at: crate::conversation::service::stamp(now),
        by: who.subject.clone(),
    }
}

/// Checks `body` and stores it as a new integration of the caller's tenant, at version 1.
///
/// # Errors
/// [`IntegrationError::RawCredential`], [`IntegrationError::Invalid`] naming what is wrong,
/// [`IntegrationError::LimitReached`], a store failure.
pub async fn create<S: IntegrationStore>(
    store: &S,
    catalog: &ModelCatalog,
    who: &Principal,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Integration, IntegrationError> {
    let spec = spec(body, catalog)?;
    let Written { at, by } = written(who, now);
    let integration = Integration {
        integration_id: crate::ids::new_id("itg", now.timestamp_millis())?,
        tenant: who.tenant.to_string(),
        spec,
        version: 1,
        created_at: at.clone(),
        created_by: by.clone(),
        updated_at: at,
        updated_by: by,
    };
    store.put(&integration).await?;
    Ok(integration)
}

/// One of the tenant's integrations.
///
/// # Errors
/// [`IntegrationError::NotFound`] (another tenant's too), a store failure.
pub async fn get<S: IntegrationStore>(store: &S, who: &Principal, id: &str) -> Result<Integration, IntegrationError> {
    store
        .get(&who.tenant, id)
        .await?
        .ok_or_else(|| IntegrationError::NotFound(id.to_owned()))
}

/// A page of the tenant's integrations, newest first.
///
/// # Errors
/// A store failure.
pub async fn list<S: IntegrationStore>(
    store: &S,
    who: &Principal,
    limit: usize,
    after: Option<&str>,
) -> Result<Page, IntegrationError> {
    store.page(&who.tenant, limit, after).await
}

/// Replaces an integration's document with `body` (which may carry back the read-only fields `GET`
/// gave, and the `version` it replaces), when the version `header` or the body names is the stored
/// one.
///
/// # Errors
/// [`IntegrationError::PreconditionRequired`] when neither names one, [`IntegrationError::Invalid`]
/// when they name different ones or the body is wrong, [`IntegrationError::RawCredential`],
/// [`IntegrationError::NotFound`], [`IntegrationError::VersionMismatch`], a store failure.
pub async fn replace<S: IntegrationStore>(
    store: &S,
    catalog: &ModelCatalog,
    who: &Principal,
    id: &str,
    body: &Value,
    header: Precondition,
    now: DateTime<Utc>,
) -> Result<Integration, IntegrationError> {
    let (body, in_body) = replacement(body, id)?;
    let spec = spec(&body, catalog)?;
    let expected = match (header, in_body) {
        (Precondition::None, None) => return Err(IntegrationError::PreconditionRequired),
        // The body's version is the one it replaces, whatever `If-Match: *` allows.
        (Precondition::None | Precondition::Any, Some(v)) => Precondition::Version(v),
        (Precondition::Version(h), Some(v)) if h != v => {
            return Err(super::invalid(
                "version",
                "names another version than If-Match; send one of them",
            ))
        }
        (header, _) => header,
    };
    store
        .replace(&who.tenant, id, &spec, &written(who, now), expected)
        .await
}

/// Deletes an integration; with `If-Match`, only the version it names.
///
/// # Errors
/// [`IntegrationError::NotFound`], [`IntegrationError::VersionMismatch`], a store failure.
pub async fn delete<S: IntegrationStore>(
    store: &S,
    who: &Principal,
    id: &str,
    expected: Precondition,
) -> Result<(), IntegrationError> {
    store.delete(&who.tenant, id, expected).await
}
