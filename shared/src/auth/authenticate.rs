//! The authorizer's decision: who is calling (API key or bearer JWT) and may they use this route.

use super::apikey::{self, KeyFormatError, MAX_CREDENTIAL_BYTES};
use super::jwt::{self, JwtConfig};
use super::{permissions, AuthMethod, AuthOutcome, Principal, TenantId};
use crate::keys::{KeyStore, KeyStoreError};
use crate::ratelimit::{Admission, Bucket, RateLimiter, RateLimits};
use chrono::{DateTime, Utc};

/// The credential headers of a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    pub api_key: Option<&'a str>,
    pub authorization: Option<&'a str>,
}

fn rejected(code: &'static str, message: impl Into<String>) -> AuthOutcome {
    AuthOutcome::Unauthenticated {
        code,
        message: message.into(),
    }
}

/// What the authorizer decides with, built once per cold start.
pub struct Authenticator<S, L> {
    pub store: S,
    pub limiter: L,
    pub limits: RateLimits,
    pub jwt: Option<JwtConfig>,
}

impl<S: KeyStore, L: RateLimiter> Authenticator<S, L> {
    /// Authenticates the request, spends a token of the principal's rate limit, and checks the route
    /// against the permission table.
    ///
    /// # Errors
    /// Only when DynamoDB cannot be reached: the authorizer then fails and API Gateway answers 500.
    pub async fn decide(
        &self,
        credentials: Credentials<'_>,
        route_key: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<AuthOutcome> {
        let principal = match self.principal(credentials, now).await? {
            Ok(p) => p,
            Err(outcome) => return Ok(outcome),
        };
        let bucket = Bucket {
            tenant: &principal.tenant,
            subject: &principal.subject,
        };
        let limit = self.limits.for_role(principal.role);
        if let Admission::Limited { retry_after_secs } =
            self.limiter.admit(bucket, limit, now.timestamp_millis()).await?
        {
            return Ok(AuthOutcome::RateLimited {
                principal: Some(principal),
                retry_after_secs,
            });
        }
        Ok(if permissions::allows(route_key, principal.role) {
            AuthOutcome::Allowed(principal)
        } else {
            AuthOutcome::Forbidden { principal }
        })
    }

    async fn principal(
        &self,
        credentials: Credentials<'_>,
        now: DateTime<Utc>,
    ) -> Result<Result<Principal, AuthOutcome>, KeyStoreError> {
        match credentials {
            Credentials { api_key: Some(key), .. } => {
                let now = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                api_key_principal(&self.store, key, &now).await
            }
            Credentials {
                authorization: Some(header),
                ..
            } => Ok(bearer_principal(self.jwt.as_ref(), header)),
            Credentials {
                api_key: None,
                authorization: None,
            } => Ok(Err(rejected(
                "UNAUTHENTICATED",
                "this route requires an X-API-Key or an Authorization: Bearer token",
            ))),
        }
    }
}

async fn api_key_principal<S: KeyStore>(
    store: &S,
    key: &str,
    now: &str,
) -> Result<Result<Principal, AuthOutcome>, KeyStoreError> {
    let invalid = || rejected("INVALID_API_KEY", "the API key is not valid");
    match apikey::check_format(key) {
        Err(KeyFormatError::TooLarge) => return Ok(Err(too_large())),
        Err(KeyFormatError::Malformed) => return Ok(Err(invalid())),
        Ok(()) => {}
    }
    let hash = apikey::hash(key);
    let Some(record) = store.find_by_hash(&hash).await? else {
        return Ok(Err(invalid()));
    };
    if record.revoked || !apikey::hashes_match(&record.hash, &hash) {
        return Ok(Err(invalid()));
    }
    // Keys are only issued to valid tenants; one stored before the pattern was enforced is refused.
    let Ok(tenant) = TenantId::try_from(record.tenant.as_str()) else {
        tracing::warn!(key_id = %record.key_id, "API key of a tenant that breaks the tenant pattern");
        return Ok(Err(rejected(
            "INVALID_API_KEY",
            "the API key belongs to a tenant whose name is no longer valid",
        )));
    };
    // Last-used is bookkeeping: a failure to record it must not fail the request.
    if let Err(err) = store.touch(&record.tenant, &record.key_id, now).await {
        tracing::warn!(key_id = %record.key_id, error = %err, "could not record last use");
    }
    Ok(Ok(Principal {
        tenant,
        subject: record.key_id,
        role: record.role,
        method: AuthMethod::ApiKey,
    }))
}

fn bearer_principal(jwt: Option<&JwtConfig>, header: &str) -> Result<Principal, AuthOutcome> {
    if header.len() > MAX_CREDENTIAL_BYTES {
        return Err(too_large());
    }
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or_else(|| rejected("INVALID_TOKEN", "the Authorization header must be `Bearer <token>`"))?;
    let config = jwt.ok_or_else(|| rejected("INVALID_TOKEN", "bearer tokens are not accepted by this deployment"))?;
    jwt::verify(config, token.trim()).map_err(|e| rejected("INVALID_TOKEN", e.0))
}

fn too_large() -> AuthOutcome {
    rejected(
        "CREDENTIALS_TOO_LARGE",
        format!("credentials longer than {MAX_CREDENTIAL_BYTES} bytes are refused"),
    )
}

#[cfg(test)]
mod tests;
