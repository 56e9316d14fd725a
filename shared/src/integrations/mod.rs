//! Integrations: a tenant's named bundles of a model configuration (a catalog provider, the
//! provider's model, parameters, and a *reference* to a credential — never the credential itself)
//! and the names of the registered tools, resources and prompts it exposes.
//!
//! The item is `TENANT#<tenant>` / `INTEGRATION#<integration id>`, and the tenant's count
//! `TENANT#<tenant>` / `INTEGCOUNT`, written in one transaction (see [`crate::dynamodb`]). Each write
//! moves its `version` on by one; a replace or a delete may name the version it read (`If-Match`), and
//! one that does not match is refused (`412`) with nothing written.

use serde::{Deserialize, Serialize};

mod credentials;
pub mod dynamodb;
pub mod memory;
pub mod requests;
pub mod service;
pub mod store;

/// Integrations a tenant may keep.
pub const MAX_INTEGRATIONS_PER_TENANT: usize = 100;

/// A stored integration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Integration {
    pub integration_id: String,
    #[serde(skip)]
    pub tenant: String,
    #[serde(flatten)]
    pub spec: Spec,
    /// 1 when created, one more at each replace.
    pub version: u64,
    pub created_at: String,
    /// The subject (key id or JWT `sub`) that created it.
    pub created_by: String,
    pub updated_at: String,
    pub updated_by: String,
}

/// What a caller sets: everything but the id, the version and who wrote it when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub model: ModelConfig,
    /// Names of registered tools.
    #[serde(default)]
    pub tools: Vec<String>,
    /// URIs of registered resources.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Names of registered prompts.
    #[serde(default)]
    pub prompts: Vec<String>,
}

/// The model an integration calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// A provider of the model catalog (`GET /api/v1/mcp/models`).
    pub provider: String,
    /// The provider's own model name.
    pub provider_model: String,
    #[serde(default)]
    pub parameters: Parameters,
    /// Where the provider's credential is; `None`: the provider's configured one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialRef>,
}

/// Generation parameters; each unset one is the provider's default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Parameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
}

/// Where a credential is kept: `{"env": NAME}` or `{"secret_arn": ARN}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialRef {
    /// A variable of the functions' environment that the stack sets (a catalog provider's
    /// `credential_env`).
    Env(String),
    /// A Secrets Manager secret of the tenant's own, under [`tenant_secret_prefix`].
    SecretArn(String),
}

/// Where a tenant's credential secrets are named: `mcpflow/tenants/<tenant>/`. An integration may
/// reference no other secret, so one tenant's completions never send another's key (or the stack's
/// own secrets) to a provider.
#[must_use]
pub fn tenant_secret_prefix(tenant: &str) -> String {
    format!("{}tenants/{tenant}/", requests::SECRET_PREFIX)
}

/// Whether the secret `arn` is named under the tenant's prefix.
#[must_use]
pub fn owns_secret(tenant: &str, arn: &str) -> bool {
    let prefix = tenant_secret_prefix(tenant);
    arn.split_once(":secret:")
        .is_some_and(|(_, name)| name.len() > prefix.len() && name.starts_with(&prefix))
}

/// What a replace or a delete asks of the stored version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// `If-Match: *`: whichever version is stored.
    Any,
    /// `If-Match: "<n>"` (or the body's `version`): only that one.
    Version(u64),
    /// Nothing named (a delete may; a replace may not).
    None,
}

/// Why an integration operation failed.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A credential's value in the body. The message names where, never what.
    #[error("{field}: integrations hold a reference to a credential, never the credential: set model.credential to {{\"env\": \"<variable name>\"}} or {{\"secret_arn\": \"<Secrets Manager ARN>\"}}")]
    RawCredential { field: String },
    #[error("integration {0} not found")]
    NotFound(String),
    #[error("the tenant already has {MAX_INTEGRATIONS_PER_TENANT} integrations")]
    LimitReached,
    #[error("integration {id} is at version {current}, not the version {expected} the request names")]
    VersionMismatch { id: String, expected: u64, current: u64 },
    #[error("integration {id} is in use by completion {completion_id}, which has not finished; delete it once that ends (or cancel it)")]
    InUse { id: String, completion_id: String },
    #[error("a replace must name the version it replaces: send If-Match: \"<version>\" (as GET's ETag gives it), If-Match: *, or the body's \"version\"")]
    PreconditionRequired,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl From<getrandom::Error> for IntegrationError {
    fn from(e: getrandom::Error) -> Self {
        Self::Unknown(anyhow::anyhow!("random source: {e}"))
    }
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> IntegrationError {
    IntegrationError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests;
