//! Key management: create (the key is shown once), list (metadata only) and revoke, per tenant.

use crate::auth::{apikey, Principal, Role};
use crate::keys::{ApiKeyRecord, KeyStore, KeyStoreError};
use crate::secret::Secret;
use crate::tenant::TenantId;

/// Longest key name.
pub const MAX_KEY_NAME_CHARS: usize = 64;

/// A key just created: `key` is the only copy there will ever be.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub record: ApiKeyRecord,
    pub key: Secret,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateKeyError {
    #[error("name must be 1 to {MAX_KEY_NAME_CHARS} printable characters")]
    InvalidName,
    #[error("{0}")]
    InvalidRole(String),
    #[error(
        "the tenant already holds the most keys allowed ({})",
        crate::keys::MAX_KEYS_PER_TENANT
    )]
    LimitReached,
    #[error(transparent)]
    Unknown(anyhow::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum RevokeKeyError {
    #[error("no API key {0}")]
    NotFound(String),
    #[error(transparent)]
    Unknown(anyhow::Error),
}

/// Creates a key in the caller's tenant.
///
/// # Errors
/// [`CreateKeyError`] for a bad name or role, a full tenant, or a store failure.
pub async fn create_key<S: KeyStore>(
    store: &S,
    principal: &Principal,
    name: &str,
    role: &str,
    now: &str,
) -> Result<CreatedKey, CreateKeyError> {
    let role: Role = role.parse().map_err(CreateKeyError::InvalidRole)?;
    issue_key(store, &principal.tenant, name, role, now).await
}

/// Creates a key in any tenant: for [`create_key`] and the one-off bootstrap command. The tenant is a
/// [`TenantId`], so a name outside [`crate::tenant::TENANT_PATTERN`] never gets a key.
///
/// # Errors
/// As [`create_key`].
pub async fn issue_key<S: KeyStore>(
    store: &S,
    tenant: &TenantId,
    name: &str,
    role: Role,
    now: &str,
) -> Result<CreatedKey, CreateKeyError> {
    let created = new_key(tenant, name, role, now)?;
    match store.create(&created.record).await {
        Ok(()) => Ok(created),
        Err(KeyStoreError::LimitReached) => Err(CreateKeyError::LimitReached),
        Err(e) => Err(CreateKeyError::Unknown(e.into())),
    }
}

/// A new key of the tenant, not stored yet: for [`issue_key`], and for an agent's token, which is
/// stored with its agent.
///
/// # Errors
/// [`CreateKeyError::InvalidName`], or no random source.
pub fn new_key(tenant: &TenantId, name: &str, role: Role, now: &str) -> Result<CreatedKey, CreateKeyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_KEY_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(CreateKeyError::InvalidName);
    }
    let new = apikey::generate().map_err(|e| CreateKeyError::Unknown(anyhow::anyhow!("random source: {e}")))?;
    let record = ApiKeyRecord {
        key_id: new.key_id,
        tenant: tenant.to_string(),
        role,
        name: name.to_owned(),
        created_at: now.to_owned(),
        last_used_at: None,
        revoked: false,
        hash: new.hash,
    };
    Ok(CreatedKey { record, key: new.key })
}

/// The caller's tenant's keys, newest first.
///
/// # Errors
/// When the store fails.
pub async fn list_keys<S: KeyStore>(store: &S, principal: &Principal) -> anyhow::Result<Vec<ApiKeyRecord>> {
    let mut keys = store.list(&principal.tenant).await?;
    keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.key_id.cmp(&a.key_id)));
    Ok(keys)
}

/// Revokes one of the caller's tenant's keys; another tenant's key is `NotFound`, never forbidden.
///
/// # Errors
/// [`RevokeKeyError`] for an unknown key or a store failure.
pub async fn revoke_key<S: KeyStore>(
    store: &S,
    principal: &Principal,
    key_id: &str,
) -> Result<ApiKeyRecord, RevokeKeyError> {
    match store.revoke(&principal.tenant, key_id).await {
        Ok(record) => Ok(record),
        Err(KeyStoreError::NotFound(id)) => Err(RevokeKeyError::NotFound(id)),
        Err(e) => Err(RevokeKeyError::Unknown(e.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthMethod;
    use crate::keys::InMemoryKeyStore;

    fn admin(tenant: &str) -> Principal {
        Principal {
            tenant: tenant.try_into().unwrap(),
            subject: "boot".into(),
            role: Role::Admin,
            method: AuthMethod::ApiKey,
        }
    }

    #[tokio::test]
    async fn a_created_key_is_listed_without_its_secret_and_can_be_revoked() {
        let store = InMemoryKeyStore::default();
        let created = create_key(&store, &admin("acme"), "ci", "viewer", "2026-11-22T12:00:00Z")
            .await
            .unwrap();
        assert!(created.key.expose().starts_with("mcpf_"));
        let listed = list_keys(&store, &admin("acme")).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(!serde_json::to_string(&listed).unwrap().contains(&created.record.hash));
        assert!(
            revoke_key(&store, &admin("acme"), &created.record.key_id)
                .await
                .unwrap()
                .revoked
        );
    }

    #[tokio::test]
    async fn another_tenants_key_is_not_found() {
        let store = InMemoryKeyStore::default();
        let created = create_key(&store, &admin("acme"), "ci", "viewer", "t").await.unwrap();
        let err = revoke_key(&store, &admin("other"), &created.record.key_id)
            .await
            .unwrap_err();
        assert!(matches!(err, RevokeKeyError::NotFound(_)));
        assert!(list_keys(&store, &admin("other")).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn bad_names_and_roles_are_refused() {
        let store = InMemoryKeyStore::default();
        assert!(matches!(
            create_key(&store, &admin("a"), " ", "viewer", "t").await,
            Err(CreateKeyError::InvalidName)
        ));
        let long = "n".repeat(MAX_KEY_NAME_CHARS + 1);
        assert!(matches!(
            create_key(&store, &admin("a"), &long, "viewer", "t").await,
            Err(CreateKeyError::InvalidName)
        ));
        assert!(matches!(
            create_key(&store, &admin("a"), "x", "root", "t").await,
            Err(CreateKeyError::InvalidRole(_))
        ));
    }
}
