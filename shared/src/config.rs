//! Configuration, read once per cold start from the environment `template.yaml` sets.
//!
//! This is the only place that reads environment variables. AWS endpoints are not part of it:
//! the AWS SDK reads the standard `AWS_ENDPOINT_URL*` variables itself, so no code asks "am I local?".

use std::collections::BTreeMap;
use std::time::Duration;

use crate::auth::jwt::{JwtConfig, JwtKeys};
use crate::contexts::requests::Limits;
use crate::models::{CatalogError, ModelCatalog};
use crate::ratelimit::{RateLimits, DEFAULT_RATE_LIMITS};
use crate::registered::endpoint::EndpointPolicy;
use crate::secret::Secret;

/// Prefix of the variables that name the queues: `QUEUE_URL_TASK_HIGH=https://…` names queue `task-high`.
pub const QUEUE_URL_PREFIX: &str = "QUEUE_URL_";

/// How logs are written: JSON in Lambda (`AWS_LAMBDA_LOG_FORMAT=JSON`), text for people otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// A queue the functions know by a short name (`task-high`) and reach by URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRef {
    pub name: String,
    pub url: String,
}

/// Everything a function needs to know about its deployment.
#[derive(Debug, Clone)]
pub struct Config {
    pub version: &'static str,
    pub log_format: LogFormat,
    pub log_level: String,
    pub table_name: String,
    pub queues: Vec<QueueRef>,
    pub pipeline_state_machine_arn: String,
    pub health_check_timeout: Duration,
    /// One provider call, from `PROVIDER_TIMEOUT_MS` (default 60000).
    pub provider_timeout: Duration,
    /// One task in the worker, provider calls, retries and fallbacks included, from
    /// `TASK_DEADLINE_SECS` (default 120).
    pub task_deadline: Duration,
    /// How old an outbox entry must be before the outbox sweep sends it, from
    /// `OUTBOX_GRACE_SECONDS` (default 60: longer than any HTTP function runs).
    pub outbox_grace: Duration,
    /// The WebSocket API's management endpoint (`WEBSOCKET_ENDPOINT`), which functions push through.
    pub websocket_endpoint: Option<String>,
    /// Where `$connect` queues the check of a connection opened without credentials
    /// (`WS_AUTH_TIMEOUT_QUEUE_URL`); without it such a handshake is refused (`401`).
    pub ws_auth_timeout_queue_url: Option<String>,
    /// Messages one WebSocket connection may send per minute, from `WS_MESSAGES_PER_MINUTE`
    /// (default 100).
    pub ws_messages_per_minute: u32,
    /// When a quiet agent is `stale` and `inactive` (`AGENT_STALE_SECS`, `AGENT_INACTIVE_SECS`).
    pub agent_timeouts: crate::agents::AgentTimeouts,
    /// How long an MCP instance answers a registry list it keeps without reading its version
    /// (`REGISTRY_LIST_CACHE_SECS`, default 2; 0 reads it on every list).
    pub registry_list_cache: Duration,
    /// How long a function may keep its metrics samples before it writes them (`METRICS_FLUSH_SECS`,
    /// default 5; 0 writes each sample as it is taken).
    pub metrics_flush: Duration,
    pub models: ModelCatalog,
    /// Provider credentials by provider id, for the providers whose `credential_env` is set.
    pub credentials: BTreeMap<String, Secret>,
    /// How long audit entries are kept, from `AUDIT_TTL_DAYS` (default 90).
    pub audit_ttl_days: u32,
    /// Requests per role, from `RATE_LIMITS` (default [`DEFAULT_RATE_LIMITS`]).
    pub rate_limits: RateLimits,
    /// Bearer JWTs, when `JWT_HS256_SECRET` or `JWT_JWKS` is set; API keys work either way.
    pub jwt: Option<JwtConfig>,
    /// Context and request limits, from `MAX_*`, `CONTEXT_TTL_SECS` and `TASK_RETENTION_DAYS` (defaults in
    /// [`Limits`]).
    pub limits: Limits,
    /// Browser origins the MCP endpoint serves, from `MCP_ALLOWED_ORIGINS` (comma-separated,
    /// `scheme://host[:port]`); empty refuses every request that carries an `Origin`.
    pub mcp_allowed_origins: Vec<String>,
    /// How registered tools' endpoints are called: `TOOL_ENDPOINT_TIMEOUT_MS` (default 10000) and
    /// `ALLOW_PRIVATE_TOOL_ENDPOINTS` (`true` for a local stack only; default `false`).
    pub tool_endpoints: EndpointPolicy,
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("model catalog: {0}")]
    Catalog(#[from] CatalogError),
}

impl Config {
    /// Reads the configuration from the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] when a required variable is missing or a value cannot be parsed.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads the configuration from the given variables (the environment, or a test's map).
    ///
    /// # Errors
    /// [`ConfigError`] when a required variable is missing or a value cannot be parsed.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let vars: BTreeMap<String, String> = vars.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        let required = |name: &'static str| vars.get(name).cloned().ok_or(ConfigError::Missing(name));
        let (models, credentials) = models_from(&vars)?;
        Ok(Self {
            version: env!("CARGO_PKG_VERSION"),
            log_format: log_format(&vars),
            log_level: vars
                .get("AWS_LAMBDA_LOG_LEVEL")
                .or_else(|| vars.get("RUST_LOG"))
                .map_or("info".into(), |l| l.to_ascii_lowercase()),
            table_name: required("TABLE_NAME")?,
            queues: queues_from(&vars),
            pipeline_state_machine_arn: required("PIPELINE_STATE_MACHINE_ARN")?,
            health_check_timeout: millis(&vars, "HEALTH_CHECK_TIMEOUT_MS", 2_000)?,
            provider_timeout: millis(&vars, "PROVIDER_TIMEOUT_MS", 60_000)?,
            task_deadline: secs(&vars, "TASK_DEADLINE_SECS", 120)?,
            outbox_grace: secs(&vars, "OUTBOX_GRACE_SECONDS", 60)?,
            websocket_endpoint: vars.get("WEBSOCKET_ENDPOINT").cloned(),
            ws_auth_timeout_queue_url: vars.get("WS_AUTH_TIMEOUT_QUEUE_URL").cloned(),
            ws_messages_per_minute: per_minute(
                &vars,
                "WS_MESSAGES_PER_MINUTE",
                crate::connections::DEFAULT_MESSAGES_PER_MINUTE,
            )?,
            agent_timeouts: agent_timeouts(&vars)?,
            registry_list_cache: bounded_secs(&vars, "REGISTRY_LIST_CACHE_SECS", 2, 300)?,
            metrics_flush: bounded_secs(&vars, "METRICS_FLUSH_SECS", 5, 60)?,
            jwt: jwt_from(&vars)?,
            limits: limits_from(&vars)?,
            tool_endpoints: EndpointPolicy {
                timeout: millis(&vars, "TOOL_ENDPOINT_TIMEOUT_MS", 10_000)?,
                allow_private: vars.get("ALLOW_PRIVATE_TOOL_ENDPOINTS").is_some_and(|v| v == "true"),
            },
            mcp_allowed_origins: list(&vars, "MCP_ALLOWED_ORIGINS"),
            audit_ttl_days: audit_ttl_days(&vars)?,
            rate_limits: RateLimits::parse(vars.get("RATE_LIMITS").map_or(DEFAULT_RATE_LIMITS, String::as_str))
                .map_err(|reason| ConfigError::Invalid {
                    name: "RATE_LIMITS",
                    reason,
                })?,
            models,
            credentials,
        })
    }
}

fn jwt_from(vars: &BTreeMap<String, String>) -> Result<Option<JwtConfig>, ConfigError> {
    let keys = match (vars.get("JWT_HS256_SECRET"), vars.get("JWT_JWKS")) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            let reason = "set JWT_HS256_SECRET or JWT_JWKS, not both".to_owned();
            return Err(ConfigError::Invalid {
                name: "JWT_JWKS",
                reason,
            });
        }
        (Some(secret), None) if secret.len() < 32 => {
            let reason = "an HS256 secret needs at least 32 bytes".to_owned();
            return Err(ConfigError::Invalid {
                name: "JWT_HS256_SECRET",
                reason,
            });
        }
        (Some(secret), None) => JwtKeys::Hs256(Secret::new(secret.clone())),
        (None, Some(jwks)) => JwtKeys::Rs256(serde_json::from_str(jwks).map_err(|e| ConfigError::Invalid {
            name: "JWT_JWKS",
            reason: format!("not a JWKS document: {e}"),
        })?),
    };
    let required = |name: &'static str| vars.get(name).cloned().ok_or(ConfigError::Missing(name));
    let claim = |name: &str, default: &str| vars.get(name).cloned().unwrap_or_else(|| default.to_owned());
    let leeway = millis(vars, "JWT_LEEWAY_MS", 30_000)?;
    Ok(Some(JwtConfig {
        keys,
        issuer: required("JWT_ISSUER")?,
        audience: required("JWT_AUDIENCE")?,
        tenant_claim: claim("JWT_TENANT_CLAIM", "tenant"),
        role_claim: claim("JWT_ROLE_CLAIM", "role"),
        leeway_secs: leeway.as_secs(),
    }))
}

/// The model catalog, and the credentials of the providers whose `credential_env` is set.
fn models_from(vars: &BTreeMap<String, String>) -> Result<(ModelCatalog, BTreeMap<String, Secret>), ConfigError> {
    let models = match (vars.get("MCPFLOW_MODELS_JSON"), vars.get("MCPFLOW_MODELS_FILE")) {
        (Some(_), Some(_)) => {
            let reason = "set MCPFLOW_MODELS_JSON or MCPFLOW_MODELS_FILE, not both".to_owned();
            return Err(ConfigError::Invalid {
                name: "MCPFLOW_MODELS_JSON",
                reason,
            });
        }
        (Some(json), None) => ModelCatalog::parse(json)?,
        (None, Some(path)) => ModelCatalog::from_file(path)?,
        (None, None) => ModelCatalog::builtin()?,
    };
    let credentials = models
        .providers
        .iter()
        .filter_map(|p| {
            Some((
                p.id.clone(),
                Secret::new(vars.get(p.credential_env.as_deref()?)?.clone()),
            ))
        })
        .collect();
    Ok((models, credentials))
}

/// A positive whole number no larger than `max`, or `default` when unset.
fn bounded(vars: &BTreeMap<String, String>, name: &'static str, default: u64, max: u64) -> Result<u64, ConfigError> {
    let Some(raw) = vars.get(name) else {
        return Ok(default);
    };
    raw.parse()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| ConfigError::Invalid {
            name,
            reason: format!("expected a whole number from 1 to {max}, got {raw:?}"),
        })
}

/// Item sizes stay well under DynamoDB's 400 KB; the quota item holds one entry per live context.
fn limits_from(vars: &BTreeMap<String, String>) -> Result<Limits, ConfigError> {
    let d = Limits::default();
    let n = |name, default: u64, max| bounded(vars, name, default, max);
    let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    let secs = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    Ok(Limits {
        max_contexts_per_user: size(n("MAX_CONTEXTS_PER_USER", d.max_contexts_per_user as u64, 5_000)?),
        max_nodes_per_context: n("MAX_NODES_PER_CONTEXT", d.max_nodes_per_context, 100_000)?,
        max_node_bytes: size(n("MAX_NODE_BYTES", d.max_node_bytes as u64, 256 * 1024)?),
        max_prompt_bytes: size(n("MAX_PROMPT_BYTES", d.max_prompt_bytes as u64, 256 * 1024)?),
        max_context_bytes: n("MAX_CONTEXT_BYTES", d.max_context_bytes, 8 * 1024 * 1024)?,
        context_ttl_secs: secs(n("CONTEXT_TTL_SECS", 7 * 24 * 3600, 365 * 24 * 3600)?),
        task_retention_secs: secs(n("TASK_RETENTION_DAYS", 30, 3_650)? * 24 * 3600),
        ..d
    })
}

/// A comma-separated list; empty when unset.
fn list(vars: &BTreeMap<String, String>, name: &str) -> Vec<String> {
    vars.get(name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn log_format(vars: &BTreeMap<String, String>) -> LogFormat {
    if vars
        .get("AWS_LAMBDA_LOG_FORMAT")
        .is_some_and(|f| f.eq_ignore_ascii_case("json"))
    {
        LogFormat::Json
    } else {
        LogFormat::Text
    }
}

fn audit_ttl_days(vars: &BTreeMap<String, String>) -> Result<u32, ConfigError> {
    let Some(raw) = vars.get("AUDIT_TTL_DAYS") else {
        return Ok(90);
    };
    raw.parse().ok().filter(|d| *d > 0).ok_or_else(|| ConfigError::Invalid {
        name: "AUDIT_TTL_DAYS",
        reason: format!("expected a positive number of days, got {raw:?}"),
    })
}

fn queues_from(vars: &BTreeMap<String, String>) -> Vec<QueueRef> {
    vars.iter()
        .filter_map(|(k, url)| {
            let suffix = k.strip_prefix(QUEUE_URL_PREFIX)?;
            let name = suffix.to_ascii_lowercase().replace('_', "-");
            Some(QueueRef { name, url: url.clone() })
        })
        .collect()
}

fn agent_timeouts(vars: &BTreeMap<String, String>) -> Result<crate::agents::AgentTimeouts, ConfigError> {
    let defaults = crate::agents::AgentTimeouts::default();
    let whole = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let stale = whole(secs(
        vars,
        "AGENT_STALE_SECS",
        defaults.stale_after_secs.unsigned_abs(),
    )?);
    let inactive = whole(secs(
        vars,
        "AGENT_INACTIVE_SECS",
        defaults.inactive_after_secs.unsigned_abs(),
    )?);
    // Every function reads these, so a wrong order is not worth stopping them all: an agent is
    // inactive no sooner than stale.
    Ok(crate::agents::AgentTimeouts {
        stale_after_secs: stale,
        inactive_after_secs: inactive.max(stale),
    })
}

/// `name`: 0 to `max` seconds, `default` when unset.
fn bounded_secs(
    vars: &BTreeMap<String, String>,
    name: &'static str,
    default: u64,
    max: u64,
) -> Result<Duration, ConfigError> {
    match vars.get(name).map(|raw| (raw, raw.parse::<u64>())) {
        None => Ok(Duration::from_secs(default)),
        Some((_, Ok(s))) if s <= max => Ok(Duration::from_secs(s)),
        Some((raw, _)) => Err(ConfigError::Invalid {
            name,
            reason: format!("expected 0 to {max} seconds, got {raw:?}"),
        }),
    }
}

fn secs(vars: &BTreeMap<String, String>, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
    match vars.get(name).map(|raw| (raw, raw.parse::<u64>())) {
        None => Ok(Duration::from_secs(default)),
        Some((_, Ok(s))) if s > 0 => Ok(Duration::from_secs(s)),
        Some((raw, _)) => Err(ConfigError::Invalid {
            name,
            reason: format!("expected a positive number of seconds, got {raw:?}"),
        }),
    }
}

fn per_minute(vars: &BTreeMap<String, String>, name: &'static str, default: u32) -> Result<u32, ConfigError> {
    let Some(raw) = vars.get(name) else {
        return Ok(default);
    };
    raw.parse()
        .ok()
        .filter(|n| (1..=60_000).contains(n))
        .ok_or_else(|| ConfigError::Invalid {
            name,
            reason: format!("expected a whole number from 1 to 60000 a minute, got {raw:?}"),
        })
}

fn millis(vars: &BTreeMap<String, String>, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
    let Some(raw) = vars.get(name) else {
        return Ok(Duration::from_millis(default));
    };
    match raw.parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(ConfigError::Invalid {
            name,
            reason: format!("expected a positive number of milliseconds, got {raw:?}"),
        }),
    }
}

#[cfg(test)]
mod tests;
