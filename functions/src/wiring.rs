//! Cold-start wiring shared by the bins: configuration, logging and the AWS-backed dependencies,
//! built once per execution environment. A bin names one of these and its handler.

use std::sync::{Arc, OnceLock};

use shared::agents::dynamodb::DynamoDbAgents;
use shared::audit::dynamodb::DynamoDbAuditLog;
use shared::auth::authenticate::Authenticator;
use shared::aws::AwsClients;
use shared::completions::tools::{RegistryToolSpecs, RegistryTools};
use shared::connections::dynamodb::DynamoDbConnections;
use shared::connections::pending::SqsAuthTimeouts;
use shared::connections::publish::{TopicEvents, WebSocketPublisher};
use shared::connections::push::ApiGatewayPusher;
use shared::contexts::dynamodb::DynamoDbContextStore;
use shared::conversation::service::Deps;
use shared::health::aws::AwsDependencyProbe;
use shared::health::Dependency;
use shared::integrations::dynamodb::DynamoDbIntegrations;
use shared::keys::dynamodb::DynamoDbKeyStore;
use shared::logs::dynamodb::DynamoDbLogs;
use shared::metrics::dynamodb::DynamoDbMetrics;
use shared::metrics::queues::SqsQueueDepths;
use shared::metrics::Recorder;
use shared::pipelines::dynamodb::DynamoDbPipelines;
use shared::pipelines::engine::StepFunctions;
use shared::pipelines::executions::dynamodb::DynamoDbExecutions;
use shared::pipelines::redelivery::SqsRedelivery;
use shared::pipelines::runs::Runs;
use shared::pipelines::webhook::Webhooks;
use shared::providers::credentials::SecretKeys;
use shared::providers::registry::Providers;
use shared::ratelimit::dynamodb::DynamoDbRateLimiter;
use shared::registered::cache::Cached;
use shared::registered::dynamodb::DynamoDbRegistry;
use shared::summary::dynamodb::DynamoDbCounts;
use shared::tasks::dynamodb::DynamoDbTaskStore;
use shared::tasks::sqs::SqsTaskQueue;
use shared::tasks::updates::TaskUpdates;
use shared::{telemetry, Config};

use crate::agents::AgentDeps;
use crate::api::App;
use crate::audit::AuditDeps;
use crate::completions::CompletionDeps;
use crate::integrations::IntegrationDeps;
use crate::keys::Revocation;
use crate::registered::{RegistryDeps, SubscribeDeps};
use crate::system::SystemDeps;
use crate::websocket::{ConnectDeps, HealthChecks, MessageDeps, Stores};

/// The deployed conversation stores, queue and providers (REST, MCP, worker, outbox, dead letters).
pub type AwsDeps = Deps<DynamoDbContextStore, DynamoDbTaskStore, SqsTaskQueue>;

type Result<T> = std::result::Result<T, lambda_http::Error>;

/// Reads the configuration, starts logging and loads the AWS clients.
///
/// # Errors
/// When the configuration is invalid.
pub async fn start() -> Result<(Config, AwsClients)> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format, &config.log_level);
    Ok((config, AwsClients::from_env().await))
}

/// The audit log in the table, with the configured retention.
#[must_use]
pub fn audit(config: &Config, clients: &AwsClients) -> AuditDeps<DynamoDbAuditLog> {
    AuditDeps {
        log: DynamoDbAuditLog::new(clients.dynamodb.clone(), config.table_name.clone()),
        ttl_days: config.audit_ttl_days,
    }
}

/// The process's recorder, once [`recorder`] has made it.
static RECORDER: OnceLock<Recorder> = OnceLock::new();

/// This function's recorder of its invocations and log events, in the table, on a client that
/// never retries (see [`shared::metrics::dynamodb::unretried_client`]). One per process: every part
/// of the function that records shares its kept samples, and [`crate::runtime::run`] writes them
/// after each response.
#[must_use]
pub fn recorder(config: &Config, clients: &AwsClients) -> Recorder {
    RECORDER
        .get_or_init(|| {
            let client = shared::metrics::dynamodb::unretried_client(&clients.dynamodb);
            let store = DynamoDbMetrics::new(client.clone(), config.table_name.clone());
            let logs = DynamoDbLogs::new(client, config.table_name.clone());
            Recorder::for_this_function(Arc::new(store), config.metrics_flush).with_logs(Arc::new(logs))
        })
        .clone()
}

/// The process's recorder, if the function made one.
#[must_use]
pub fn this_recorder() -> Option<Recorder> {
    RECORDER.get().cloned()
}

/// A route's app: its dependencies, the audit log and the recorder of its invocations.
fn app<D>(deps: D, config: &Config, clients: &AwsClients) -> App<D> {
    App::new(deps, audit(config, clients)).measured(recorder(config, clients))
}

/// The deployed conversation dependencies.
///
/// # Errors
/// When a task queue is not configured or an HTTP client cannot be built.
pub fn aws_deps(config: &Config, clients: &AwsClients) -> anyhow::Result<AwsDeps> {
    let queue = |name: &str| {
        config
            .queues
            .iter()
            .find(|q| q.name == name)
            .map(|q| q.url.clone())
            .ok_or_else(|| anyhow::anyhow!("QUEUE_URL_{} is not set", name.to_uppercase().replace('-', "_")))
    };
    Ok(Deps {
        contexts: DynamoDbContextStore::new(clients.dynamodb.clone(), config.table_name.clone()),
        tasks: DynamoDbTaskStore::new(clients.dynamodb.clone(), config.table_name.clone()),
        queue: SqsTaskQueue::new(
            clients.sqs.clone(),
            queue("task-high")?,
            queue("task-medium")?,
            queue("task-low")?,
        ),
        providers: Providers::new(
            &config.models,
            &config.credentials,
            config.provider_timeout,
            Some(&clients.sdk),
        )?
        .with_secret_keys(SecretKeys::new(shared::secrets::SecretsManager::new(
            clients.secrets.clone(),
        ))),
        default_model: config.models.default_model.clone(),
        limits: config.limits,
        updates: task_events(config, clients).map(|p| p as Arc<dyn TaskUpdates>),
        metrics: Some(recorder(config, clients)),
        tool_specs: Some(Arc::new(RegistryToolSpecs {
            store: DynamoDbRegistry::new(clients.dynamodb.clone(), config.table_name.clone()),
        })),
        tools: None,
    })
}

/// `deps` for a function that runs completions (the worker, the streaming function): the registered
/// tools they offer are run through the registry too.
#[must_use]
pub fn running_tools(deps: AwsDeps, config: &Config, clients: &AwsClients) -> AwsDeps {
    AwsDeps {
        tools: Some(Arc::new(RegistryTools {
            store: DynamoDbRegistry::new(clients.dynamodb.clone(), config.table_name.clone()),
            policy: config.tool_endpoints,
        })),
        ..deps
    }
}

/// A contexts or tasks route.
///
/// # Errors
/// When the configuration is invalid or a task queue is not configured.
pub async fn conversation() -> Result<App<AwsDeps>> {
    let (config, clients) = start().await?;
    Ok(app(aws_deps(&config, &clients)?, &config, &clients))
}

/// A key management route.
///
/// # Errors
/// When the configuration is invalid.
pub async fn keys() -> Result<App<DynamoDbKeyStore>> {
    let (config, clients) = start().await?;
    let store = DynamoDbKeyStore::new(clients.dynamodb.clone(), config.table_name.clone());
    Ok(app(store, &config, &clients))
}

/// The key revocation route: the keys, and the WebSocket connections a revoked key opened.
///
/// # Errors
/// When the configuration is invalid.
pub async fn keys_revoke() -> Result<App<Revocation<DynamoDbKeyStore, DynamoDbConnections, ApiGatewayPusher>>> {
    let (config, clients) = start().await?;
    let sockets = config.websocket_endpoint.as_deref().map(|endpoint| {
        (
            DynamoDbConnections::new(clients.dynamodb.clone(), config.table_name.clone()),
            ApiGatewayPusher::new(&clients.sdk, endpoint),
        )
    });
    let revocation = Revocation {
        keys: DynamoDbKeyStore::new(clients.dynamodb.clone(), config.table_name.clone()),
        sockets,
    };
    Ok(app(revocation, &config, &clients))
}

/// The audit listing route.
///
/// # Errors
/// When the configuration is invalid.
pub async fn audit_log() -> Result<App<DynamoDbAuditLog>> {
    let (config, clients) = start().await?;
    let log = audit(&config, &clients);
    Ok(App::new(log.log.clone(), log).measured(recorder(&config, &clients)))
}

/// A registry route (tools, prompts, resources).
///
/// # Errors
/// When the configuration is invalid.
pub async fn registry() -> Result<App<RegistryDeps<DynamoDbRegistry>>> {
    let (config, clients) = start().await?;
    let deps = RegistryDeps {
        store: DynamoDbRegistry::new(clients.dynamodb.clone(), config.table_name.clone()),
        policy: config.tool_endpoints,
        events: task_events(&config, &clients).map(|p| p as Arc<dyn TopicEvents>),
    };
    Ok(app(deps, &config, &clients))
}

/// An agents route: the agents, the keys their tokens are, and the `agents` topic's subscribers.
///
/// # Errors
/// When the configuration is invalid.
pub async fn agents() -> Result<App<AgentDeps<DynamoDbAgents, DynamoDbKeyStore, DynamoDbConnections, ApiGatewayPusher>>>
{
    let (config, clients) = start().await?;
    let deps = AgentDeps {
        agents: DynamoDbAgents::new(clients.dynamodb.clone(), config.table_name.clone()),
        keys: DynamoDbKeyStore::new(clients.dynamodb.clone(), config.table_name.clone()),
        timeouts: config.agent_timeouts,
        events: task_events(&config, &clients).map(|p| p as Arc<dyn TopicEvents>),
        sockets: config.websocket_endpoint.as_deref().map(|endpoint| {
            (
                DynamoDbConnections::new(clients.dynamodb.clone(), config.table_name.clone()),
                ApiGatewayPusher::new(&clients.sdk, endpoint),
            )
        }),
    };
    Ok(app(deps, &config, &clients))
}

/// A pipelines route.
///
/// # Errors
/// When the configuration is invalid.
pub async fn pipelines() -> Result<App<DynamoDbPipelines>> {
    let (config, clients) = start().await?;
    let store = DynamoDbPipelines::new(clients.dynamodb.clone(), config.table_name.clone());
    Ok(app(store, &config, &clients))
}

/// A completions route: the conversation's dependencies and the integrations.
///
/// # Errors
/// When the configuration is invalid, a task queue is not configured or an HTTP client cannot be built.
pub async fn completions() -> Result<App<CompletionDeps<AwsDeps, DynamoDbIntegrations>>> {
    let (config, clients) = start().await?;
    let deps = CompletionDeps {
        conversation: aws_deps(&config, &clients)?,
        integrations: DynamoDbIntegrations::new(clients.dynamodb.clone(), config.table_name.clone()),
    };
    Ok(app(deps, &config, &clients))
}

/// `POST /api/v1/completions/stream` (a function URL): the completions' dependencies, the worker's
/// settings (it runs the completion itself), and the authenticator it runs in place of the HTTP
/// API's authorizer.
///
/// # Errors
/// When the configuration is invalid or a secret cannot be read.
pub async fn completions_stream() -> Result<(
    App<crate::completions::stream::StreamDeps<AwsDeps, DynamoDbIntegrations>>,
    Authenticator<DynamoDbKeyStore, DynamoDbRateLimiter>,
)> {
    let (config, clients) = start_with_secrets().await?;
    let deps = crate::completions::stream::StreamDeps {
        completions: CompletionDeps {
            conversation: running_tools(aws_deps(&config, &clients)?, &config, &clients),
            integrations: DynamoDbIntegrations::new(clients.dynamodb.clone(), config.table_name.clone()),
        },
        task_deadline: config.task_deadline,
        policy: shared::providers::retry::RetryPolicy::default(),
    };
    let auth = authenticator(&config, &clients);
    Ok((app(deps, &config, &clients), auth))
}

/// An integrations route: the store, the model catalog a configuration is checked against, and the
/// tasks (for a delete).
///
/// # Errors
/// When the configuration is invalid.
pub async fn integrations() -> Result<App<IntegrationDeps<DynamoDbIntegrations, DynamoDbTaskStore>>> {
    let (config, clients) = start().await?;
    let deps = IntegrationDeps {
        store: DynamoDbIntegrations::new(clients.dynamodb.clone(), config.table_name.clone()),
        catalog: config.models.clone(),
        tasks: DynamoDbTaskStore::new(clients.dynamodb.clone(), config.table_name.clone()),
    };
    Ok(app(deps, &config, &clients))
}

/// `GET /api/v1/logs`.
///
/// # Errors
/// When the configuration is invalid.
pub async fn logs() -> Result<App<DynamoDbLogs>> {
    let (config, clients) = start().await?;
    let store = DynamoDbLogs::new(clients.dynamodb.clone(), config.table_name.clone());
    Ok(app(store, &config, &clients))
}

/// The deployed `GET /summary` and `GET /metrics`: counters and agents in the table, the health
/// checks of `GET /health`, the metric buckets, the queues.
pub type AwsSystem = SystemDeps<DynamoDbCounts, DynamoDbAgents, AwsDependencyProbe>;

/// `GET /summary` or `GET /metrics`.
///
/// # Errors
/// When the configuration is invalid.
pub async fn system() -> Result<App<AwsSystem>> {
    let (config, clients) = start().await?;
    let deps = SystemDeps {
        counts: DynamoDbCounts::new(clients.dynamodb.clone(), config.table_name.clone()),
        agents: DynamoDbAgents::new(clients.dynamodb.clone(), config.table_name.clone()),
        timeouts: config.agent_timeouts,
        health: HealthChecks::new(
            AwsDependencyProbe::new(&clients),
            Dependency::all(&config),
            config.health_check_timeout,
        ),
        metrics: Arc::new(DynamoDbMetrics::new(
            clients.dynamodb.clone(),
            config.table_name.clone(),
        )),
        queues: Some(Arc::new(SqsQueueDepths {
            client: clients.sqs.clone(),
            queues: config.queues.clone(),
        })),
    };
    Ok(app(deps, &config, &clients))
}

/// The deployed pipeline runs: executions, Step Functions, agents and stage tasks in the table.
pub type AwsRuns = Runs<DynamoDbPipelines, DynamoDbExecutions, StepFunctions, DynamoDbAgents, DynamoDbTaskStore>;

/// What running pipelines needs, on AWS.
#[must_use]
pub fn runs(config: &Config, clients: &AwsClients) -> AwsRuns {
    let table = || config.table_name.clone();
    let events = task_events(config, clients);
    Runs {
        pipelines: DynamoDbPipelines::new(clients.dynamodb.clone(), table()),
        executions: DynamoDbExecutions::new(clients.dynamodb.clone(), table()),
        engine: StepFunctions::new(clients.sfn.clone(), config.pipeline_state_machine_arn.clone()),
        agents: DynamoDbAgents::new(clients.dynamodb.clone(), table()),
        tasks: DynamoDbTaskStore::new(clients.dynamodb.clone(), table()),
        timeouts: config.agent_timeouts,
        webhooks: Webhooks {
            policy: config.tool_endpoints,
            backoff: std::time::Duration::from_secs(1),
        },
        task_retention_secs: config.limits.task_retention_secs,
        events: events.clone().map(|p| p as Arc<dyn TopicEvents>),
        updates: events.map(|p| p as Arc<dyn TaskUpdates>),
    }
}

/// An executions or agent-protocol route.
///
/// # Errors
/// When the configuration is invalid.
pub async fn pipeline_runs() -> Result<App<AwsRuns>> {
    let (config, clients) = start().await?;
    Ok(app(runs(&config, &clients), &config, &clients))
}

/// `stage-dispatcher`: the pipeline runs and the stage queue its messages come back to.
///
/// # Errors
/// When the configuration is invalid or the stage queue is not configured.
pub async fn dispatcher() -> Result<(AwsRuns, SqsRedelivery)> {
    let (config, clients) = start().await?;
    let queue_url = config
        .queues
        .iter()
        .find(|q| q.name == "stage")
        .map(|q| q.url.clone())
        .ok_or("QUEUE_URL_STAGE is not set")?;
    let redelivery = SqsRedelivery {
        sqs: clients.sqs.clone(),
        queue_url,
    };
    Ok((runs(&config, &clients), redelivery))
}

/// `POST /api/v1/resources/{uri}/subscribe`: the registry and the WebSocket connections.
///
/// # Errors
/// When the configuration is invalid.
pub async fn resource_subscriptions() -> Result<App<SubscribeDeps<DynamoDbRegistry, DynamoDbConnections>>> {
    let (config, clients) = start().await?;
    let deps = SubscribeDeps {
        store: DynamoDbRegistry::new(clients.dynamodb.clone(), config.table_name.clone()),
        connections: DynamoDbConnections::new(clients.dynamodb.clone(), config.table_name.clone()),
    };
    Ok(app(deps, &config, &clients))
}

/// The models route: the catalog's view, computed once.
///
/// # Errors
/// When the configuration is invalid.
pub async fn models() -> Result<App<shared::models::ModelsView>> {
    let (config, clients) = start().await?;
    Ok(app(config.models.view(&config.credentials), &config, &clients))
}

/// Reads the configuration with its secrets (the JWT secret), starts logging and loads the AWS clients.
///
/// # Errors
/// When the configuration is invalid or a secret cannot be read.
pub async fn start_with_secrets() -> Result<(Config, AwsClients)> {
    let clients = AwsClients::from_env().await;
    let config = Config::load(&shared::secrets::SecretsManager::new(clients.secrets.clone())).await?;
    telemetry::init(config.log_format, &config.log_level);
    Ok((config, clients))
}

/// The authenticator of the HTTP API's authorizer and the WebSocket API's `$connect`.
#[must_use]
pub fn authenticator(config: &Config, clients: &AwsClients) -> Authenticator<DynamoDbKeyStore, DynamoDbRateLimiter> {
    Authenticator {
        store: DynamoDbKeyStore::new(clients.dynamodb.clone(), config.table_name.clone()),
        limiter: DynamoDbRateLimiter::new(clients.dynamodb.clone(), config.table_name.clone()),
        limits: config.rate_limits.clone(),
        jwt: config.jwt.clone(),
        last_use: shared::auth::authenticate::LastUse::default(),
    }
}

/// The WebSocket API's `$connect`.
///
/// # Errors
/// When the configuration is invalid or a secret cannot be read.
pub async fn ws_connect(
) -> Result<ConnectDeps<DynamoDbConnections, DynamoDbKeyStore, DynamoDbRateLimiter, SqsAuthTimeouts>> {
    let (config, clients) = start_with_secrets().await?;
    Ok(ConnectDeps {
        connections: DynamoDbConnections::new(clients.dynamodb.clone(), config.table_name.clone()),
        auth: authenticator(&config, &clients),
        timeouts: config
            .ws_auth_timeout_queue_url
            .clone()
            .map(|queue_url| SqsAuthTimeouts {
                client: clients.sqs.clone(),
                queue_url,
            }),
    })
}

/// `ws-auth-timeout`: the connections, and the way to close one.
///
/// # Errors
/// When the configuration is invalid or `WEBSOCKET_ENDPOINT` is not set.
pub async fn ws_auth_timeout() -> Result<(DynamoDbConnections, ApiGatewayPusher)> {
    let (config, clients) = start().await?;
    let endpoint = config
        .websocket_endpoint
        .as_deref()
        .ok_or("WEBSOCKET_ENDPOINT is not set")?;
    Ok((
        DynamoDbConnections::new(clients.dynamodb.clone(), config.table_name.clone()),
        ApiGatewayPusher::new(&clients.sdk, endpoint),
    ))
}

/// The WebSocket API's `$disconnect`.
///
/// # Errors
/// When the configuration is invalid.
pub async fn ws_disconnect() -> Result<DynamoDbConnections> {
    let (config, clients) = start().await?;
    Ok(DynamoDbConnections::new(
        clients.dynamodb.clone(),
        config.table_name.clone(),
    ))
}

/// The WebSocket API's `$default`: pushes go through `WEBSOCKET_ENDPOINT`.
///
/// # Errors
/// When the configuration is invalid or `WEBSOCKET_ENDPOINT` is not set.
pub async fn ws_message() -> Result<
    MessageDeps<
        DynamoDbConnections,
        ApiGatewayPusher,
        DynamoDbRateLimiter,
        Stores<DynamoDbTaskStore, DynamoDbContextStore, DynamoDbRegistry, DynamoDbPipelines>,
        AwsDependencyProbe,
        crate::mcp::socket::SocketTools<DynamoDbAuditLog>,
        DynamoDbKeyStore,
        DynamoDbRateLimiter,
    >,
> {
    let (config, clients) = start_with_secrets().await?;
    let endpoint = config
        .websocket_endpoint
        .as_deref()
        .ok_or("WEBSOCKET_ENDPOINT is not set")?;
    Ok(MessageDeps {
        connections: DynamoDbConnections::new(clients.dynamodb.clone(), config.table_name.clone()),
        pusher: ApiGatewayPusher::new(&clients.sdk, endpoint),
        limiter: DynamoDbRateLimiter::new(clients.dynamodb.clone(), config.table_name.clone()),
        messages_per_minute: config.ws_messages_per_minute,
        topics: Stores {
            tasks: DynamoDbTaskStore::new(clients.dynamodb.clone(), config.table_name.clone()),
            contexts: DynamoDbContextStore::new(clients.dynamodb.clone(), config.table_name.clone()),
            registry: DynamoDbRegistry::new(clients.dynamodb.clone(), config.table_name.clone()),
            pipelines: DynamoDbPipelines::new(clients.dynamodb.clone(), config.table_name.clone()),
        },
        health: Some(HealthChecks::new(
            AwsDependencyProbe::new(&clients),
            Dependency::all(&config),
            config.health_check_timeout,
        )),
        tools: crate::mcp::socket::SocketTools {
            server: crate::mcp::McpServer {
                state: std::sync::Arc::new(mcp_state(&config, &clients)?),
            },
            audit: audit(&config, &clients),
        },
        principal_limits: config.rate_limits.clone(),
        auth: Some(authenticator(&config, &clients)),
        metrics: Some(recorder(&config, &clients)),
        queues: Some(Arc::new(SqsQueueDepths {
            client: clients.sqs.clone(),
            queues: config.queues.clone(),
        })),
    })
}

/// The WebSocket API's subscribers, where tasks' changes and streamed chunks are published, when
/// `WEBSOCKET_ENDPOINT` is set.
#[must_use]
pub fn task_events(
    config: &Config,
    clients: &AwsClients,
) -> Option<Arc<WebSocketPublisher<DynamoDbConnections, ApiGatewayPusher>>> {
    let endpoint = config.websocket_endpoint.as_deref()?;
    Some(Arc::new(WebSocketPublisher {
        connections: DynamoDbConnections::new(clients.dynamodb.clone(), config.table_name.clone()),
        pusher: ApiGatewayPusher::new(&clients.sdk, endpoint),
    }))
}

/// The MCP endpoint's service: the conversation services, the built-in tools with schemas from the
/// configured limits and models, and the allowed browser origins.
///
/// # Errors
/// When the configuration is invalid or a tool schema does not compile.
pub async fn mcp() -> Result<crate::mcp::lambda::Endpoint> {
    let (config, clients) = start().await?;
    let state = std::sync::Arc::new(mcp_state(&config, &clients)?);
    let audit = audit(&config, &clients);
    Ok(crate::mcp::lambda::service(state, &config.mcp_allowed_origins, audit))
}

/// The MCP endpoint's tools and what they run on (the `mcp` function's, and `ws-message`'s tools).
fn mcp_state(config: &Config, clients: &AwsClients) -> Result<crate::mcp::McpState> {
    let deps = aws_deps(config, clients)?;
    let models = deps.providers.available_models();
    let tools = crate::mcp::tools::specs(&config.limits, &models, &config.models.default_model)?;
    Ok(crate::mcp::McpState {
        models: serde_json::to_value(config.models.view(&config.credentials))?,
        registry: Cached::new(
            DynamoDbRegistry::new(clients.dynamodb.clone(), config.table_name.clone()),
            config.registry_list_cache,
        ),
        tool_policy: config.tool_endpoints,
        deps,
        tools,
    })
}
