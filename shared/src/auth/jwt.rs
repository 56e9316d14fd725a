//! Bearer JWTs: HS256 with a shared secret or RS256 with a JWKS document; issuer and audience checked,
//! `exp`/`nbf` honoured with a small leeway; tenant and role from configured claims.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::{AuthMethod, Principal};
use crate::secret::Secret;
use crate::tenant::InvalidTenant;

/// The keys tokens are signed with.
#[derive(Debug, Clone)]
pub enum JwtKeys {
    Hs256(Secret),
    Rs256(JwkSet),
}

/// How tokens are checked and read.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    pub keys: JwtKeys,
    pub issuer: String,
    pub audience: String,
    pub tenant_claim: String,
    pub role_claim: String,
    pub leeway_secs: u64,
}

/// Why a token was refused; the message is safe to show the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TokenError(pub String);

/// The `exp` claim (unix seconds) of a token [`verify`] has accepted: how long what it opened may
/// last. `None` for a token that is not a JWT.
#[must_use]
pub fn expiry(token: &str) -> Option<i64> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Map<String, Value>>(&bytes)
        .ok()?
        .get("exp")?
        .as_i64()
}

/// Verifies a token and reads its principal.
///
/// # Errors
/// [`TokenError`] for a bad signature, algorithm, issuer or audience, an expired or not-yet-valid
/// token, a missing tenant, role or subject claim, or a tenant claim that breaks
/// [`crate::tenant::TENANT_PATTERN`].
pub fn verify(config: &JwtConfig, token: &str) -> Result<Principal, TokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| TokenError(format!("malformed token: {e}")))?;
    let (algorithm, key) = match &config.keys {
        JwtKeys::Hs256(secret) => (Algorithm::HS256, DecodingKey::from_secret(secret.expose().as_bytes())),
        JwtKeys::Rs256(set) => (Algorithm::RS256, rsa_key(set, header.kid.as_deref())?),
    };
    // The configured algorithm, never the token's: no `alg: none`, no HS256-with-the-public-key.
    if header.alg != algorithm {
        return Err(TokenError(format!("tokens must be signed with {algorithm:?}")));
    }
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[&config.issuer]);
    validation.set_audience(&[&config.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = config.leeway_secs;
    validation.validate_nbf = true;
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|e| TokenError(format!("invalid token: {e}")))?;
    let claim = |name: &str| {
        data.claims
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| TokenError(format!("token has no {name} claim")))
    };
    // The tenant becomes part of every key of the caller's data: a claim outside the one pattern is
    // refused here, before anything is read or written with it.
    let tenant = claim(&config.tenant_claim)?.try_into().map_err(|e: InvalidTenant| {
        TokenError(format!(
            "the token's {} claim is not a valid tenant: {e}",
            config.tenant_claim
        ))
    })?;
    Ok(Principal {
        tenant,
        subject: claim("sub")?.to_owned(),
        role: claim(&config.role_claim)?.parse().map_err(TokenError)?,
        method: AuthMethod::Jwt,
    })
}

fn rsa_key(set: &JwkSet, kid: Option<&str>) -> Result<DecodingKey, TokenError> {
    let jwk = match kid {
        Some(kid) => set.find(kid),
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    };
    let jwk = jwk.ok_or_else(|| TokenError("no key in the JWKS matches the token's kid".into()))?;
    DecodingKey::from_jwk(jwk).map_err(|e| TokenError(format!("unusable JWKS key: {e}")))
}

#[cfg(test)]
mod tests;
