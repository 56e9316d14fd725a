//! Cold-start wiring shared by the bins: configuration, logging and the AWS-backed dependencies,
//! built once per execution environment.

use shared::audit::dynamodb::DynamoDbAuditLog;
use shared::aws::AwsClients;
use shared::registered::dynamodb::DynamoDbRegistry;
use shared::{telemetry, Config};

use crate::audit::AuditDeps;
use crate::conversation::{aws_deps, AwsDeps};

/// The conversation dependencies and the audit log a mutating conversation handler needs.
pub struct Mutating {
    pub deps: AwsDeps,
    pub audit: AuditDeps<DynamoDbAuditLog>,
}

/// Reads the configuration, starts logging and loads the AWS clients.
///
/// # Errors
/// When the configuration is invalid.
pub async fn start() -> Result<(Config, AwsClients), lambda_http::Error> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format, &config.log_level);
    Ok((config, AwsClients::load().await))
}

/// The audit log in the table, with the configured retention.
#[must_use]
pub fn audit(config: &Config, clients: &AwsClients) -> AuditDeps<DynamoDbAuditLog> {
    AuditDeps {
        log: DynamoDbAuditLog::new(clients.dynamodb.clone(), config.table_name.clone()),
        ttl_days: config.audit_ttl_days,
    }
}

/// Everything a mutating conversation handler needs.
///
/// # Errors
/// When the configuration is invalid or a task queue is not configured.
pub async fn mutating() -> Result<Mutating, lambda_http::Error> {
    let (config, clients) = start().await?;
    Ok(Mutating {
        deps: aws_deps(&config, &clients)?,
        audit: audit(&config, &clients),
    })
}

/// Everything a reading conversation handler needs.
///
/// # Errors
/// When the configuration is invalid or a task queue is not configured.
pub async fn reading() -> Result<AwsDeps, lambda_http::Error> {
    let (config, clients) = start().await?;
    Ok(aws_deps(&config, &clients)?)
}

/// The MCP endpoint's service: the conversation services, the built-in tools with schemas from the
/// configured limits and models, and the allowed browser origins.
///
/// # Errors
/// When the configuration is invalid or a tool schema does not compile.
pub async fn mcp() -> Result<crate::mcp::lambda::Endpoint, lambda_http::Error> {
    let (config, clients) = start().await?;
    let deps = aws_deps(&config, &clients)?;
    let models = deps.providers.available_models();
    let tools = crate::mcp::tools::specs(&config.limits, &models, &config.models.default_model)?;
    let state = crate::mcp::McpState {
        models: serde_json::to_value(config.models.view(&config.credentials))?,
        registry: DynamoDbRegistry::new(clients.dynamodb.clone(), config.table_name.clone()),
        tool_policy: config.tool_endpoints,
        deps,
        tools,
    };
    let audit = audit(&config, &clients);
    let state = std::sync::Arc::new(state);
    Ok(crate::mcp::lambda::service(state, &config.mcp_allowed_origins, audit))
}

/// Everything a registered-items handler needs.
///
/// # Errors
/// When the configuration is invalid.
pub async fn registry(
) -> Result<crate::registered::RegistryDeps<DynamoDbRegistry, DynamoDbAuditLog>, lambda_http::Error> {
    let (config, clients) = start().await?;
    Ok(crate::registered::RegistryDeps {
        store: DynamoDbRegistry::new(clients.dynamodb.clone(), config.table_name.clone()),
        audit: audit(&config, &clients),
        policy: config.tool_endpoints,
    })
}
