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
    pub last_use: LastUse,
}

/// When this instance last recorded each API key's use. A key's `last_used_at` is written at most
/// once every [`LastUse::EVERY_SECS`] by an instance, so a busy key costs the authorizer one write a
/// request (its rate bucket), not two; `last_used_at` is as old as that at most.
#[derive(Debug, Default)]
pub struct LastUse(std::sync::Mutex<std::collections::HashMap<String, i64>>);

impl LastUse {
    /// How often an instance records a key's use.
    pub const EVERY_SECS: i64 = 60;
    /// Keys remembered before the memory is cleared (a key seen again is then recorded again).
    const MAX_KEYS: usize = 10_000;

    /// Whether `key_id`'s use at `now_secs` is to be recorded; if so, it counts as recorded.
    fn due(&self, key_id: &str, now_secs: i64) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen
            .get(key_id)
            .is_some_and(|&at| (0..Self::EVERY_SECS).contains(&(now_secs - at)))
        {
            return false;
        }
        if seen.len() >= Self::MAX_KEYS {
            seen.clear();
        }
        seen.insert(key_id.to_owned(), now_secs);
        true
    }

    /// A failed write: the next use is recorded again.
    fn forget(&self, key_id: &str) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key_id);
    }
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
            Credentials { api_key: Some(key), .. } => api_key_principal(&self.store, &self.last_use, key, now).await,
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
    last_use: &LastUse,
    key: &str,
    now: DateTime<Utc>,
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
    if last_use.due(&record.key_id, now.timestamp()) {
        let at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        if let Err(err) = store.touch(&record.tenant, &record.key_id, &at).await {
            tracing::warn!(key_id = %record.key_id, error = %err, "could not record last use");
            last_use.forget(&record.key_id);
        }
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
