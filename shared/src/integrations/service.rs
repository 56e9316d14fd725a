//! The operations behind `/api/v1/integrations`, each on the caller's tenant only.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::requests::{replacement, spec};
use super::store::{IntegrationStore, Page, Written};
use super::{Integration, IntegrationError, Precondition};
use crate::auth::Principal;
use crate::conversation::store::StoreError;
use crate::models::ModelCatalog;
use crate::tasks::listing::{TaskFilter, TaskListing};
use crate::tasks::model::{TaskStatus, TaskType};

fn written(who: &Principal, now: DateTime<Utc>) -> Written {
    Written {
        at: crate::conversation::service::stamp(now),
        by: who.subject.clone(),
    }
}

/// A `secret_arn` credential must name one of the caller's tenant's secrets.
fn owned_credential(spec: &super::Spec, who: &Principal) -> Result<(), IntegrationError> {
    match &spec.model.credential {
        Some(super::CredentialRef::SecretArn(arn)) if !super::owns_secret(who.tenant.as_str(), arn) => {
            Err(super::invalid(
                "model.credential.secret_arn",
                format!(
                    "must name a secret of this tenant's own, under {}",
                    super::tenant_secret_prefix(&who.tenant)
                ),
            ))
        }
        _ => Ok(()),
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
    owned_credential(&spec, who)?;
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
    owned_credential(&spec, who)?;
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

/// Tasks of one status read at most when looking for a completion that uses an integration.
const IN_USE_SCAN: usize = 1_000;

/// Deletes an integration, unless a completion asked through it has not finished; with `If-Match`,
/// only the version it names.
///
/// # Errors
/// [`IntegrationError::InUse`], [`IntegrationError::NotFound`], [`IntegrationError::VersionMismatch`],
/// a store failure.
pub async fn delete<S: IntegrationStore, T: TaskListing>(
    store: &S,
    tasks: &T,
    who: &Principal,
    id: &str,
    expected: Precondition,
    now: DateTime<Utc>,
) -> Result<(), IntegrationError> {
    if let Some(completion_id) = running_completion(tasks, &who.tenant, id, now.timestamp()).await? {
        return Err(IntegrationError::InUse {
            id: id.to_owned(),
            completion_id,
        });
    }
    store.delete(&who.tenant, id, expected).await
}

/// A pending or running completion of the tenant asked through integration `id` (the newest
/// [`IN_USE_SCAN`] of each status are looked at).
async fn running_completion<T: TaskListing>(
    tasks: &T,
    tenant: &str,
    id: &str,
    now_secs: i64,
) -> Result<Option<String>, IntegrationError> {
    for status in [TaskStatus::Pending, TaskStatus::Running] {
        let filter = TaskFilter {
            status: Some(status),
            task_type: Some(TaskType::Completion),
            ..TaskFilter::default()
        };
        let (mut after, mut seen) = (None, 0);
        loop {
            let (page, next) = tasks
                .list_tasks(tenant, &filter, 100, after.as_deref(), now_secs)
                .await
                .map_err(|e| match e {
                    StoreError::Unknown(e) => IntegrationError::Unknown(e.context("task listing")),
                    other => IntegrationError::Unknown(anyhow::anyhow!("task listing: {other}")),
                })?;
            seen += page.len();
            let user = page
                .into_iter()
                .find(|t| t.integration.as_ref().is_some_and(|call| call.integration_id == id));
            if let Some(task) = user {
                return Ok(Some(task.task_id));
            }
            match next {
                Some(cursor) if seen < IN_USE_SCAN => after = Some(cursor),
                _ => break,
            }
        }
    }
    Ok(None)
}
