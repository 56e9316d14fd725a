//! The WebSocket API's routes (`WebSocketApi` in `template.yaml`): `$connect` (bin `ws-connect`)
//! authenticates and stores the connection, `$disconnect` (`ws-disconnect`) removes it, `$default`
//! (`ws-message`) answers every message through the route response. The protocol is in
//! `shared::connections::envelope`.
//!
//! A message is first counted against its connection's limit (`WS_MESSAGES_PER_MINUTE`, default 100:
//! past it, `RATE_LIMIT_EXCEEDED` with the seconds to wait), then checked against the envelope. The
//! first message of a connection gets the `welcome` event (its client id and the protocol's limits)
//! pushed before its own answer.

use chrono::Utc;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{json, Value};
use shared::auth::authenticate::{Authenticator, Credentials};
use shared::auth::Principal;
use shared::auth::{AuthMethod, AuthOutcome};
use shared::connections::envelope::{self, ErrorCode, Inbound, ProtocolError};
use shared::connections::pending::{AuthTimeouts, InMemoryAuthTimeouts, AUTH_WINDOW_MS, PENDING_TTL_SECS};
use shared::connections::store::{ConnectionStore, EventLog, PushError, Pusher};
use shared::connections::subscribe::{self as subscription, SubscribeError};
use shared::connections::{Connection, Received, CONNECTION_TTL_SECS, EVENT_RETENTION_SECS};
use shared::contexts::store::ContextStore;
use shared::health::{DependencyProbe, InMemoryProbe};
use shared::ids::IdKind;
use shared::keys::{InMemoryKeyStore, KeyStore};
use shared::metrics::queues::QueueDepths;
use shared::metrics::{self, Outcome, Recorder};
use shared::pipelines::memory::InMemoryPipelines;
use shared::pipelines::store::PipelineStore;
use shared::ratelimit::{Admission, Bucket, InMemoryRateLimiter, Limit, RateLimiter, RateLimits};
use shared::registered::store::RegistryStore;
use shared::registered::Kind;
use shared::tasks::listing::{TaskFilter, TaskListing};
use shared::tasks::model::{StreamStats, Task};
use shared::tasks::store::TaskStore;
use shared::worker::percentile;

/// What `$connect` needs: the connections, and the authenticator the HTTP API's authorizer uses.
pub struct ConnectDeps<C, K, L, T = InMemoryAuthTimeouts> {
    pub connections: C,
    pub auth: Authenticator<K, L>,
    /// Where the check of a connection opened without credentials is queued (`None`: such a
    /// handshake is refused).
    pub timeouts: Option<T>,
}

/// What `$default` needs: the connections, the way to push, the per-connection message limit, and
/// the tasks and contexts a subscription may name.
pub struct MessageDeps<C, P, L, V, H = InMemoryProbe, M = (), K = InMemoryKeyStore, A = InMemoryRateLimiter> {
    pub connections: C,
    pub pusher: P,
    pub limiter: L,
    pub messages_per_minute: u32,
    pub topics: V,
    /// What `system/diagnostics` checks, and how (`None`: no checks).
    pub health: Option<HealthChecks<H>>,
    /// The MCP endpoint's tools, for `tools/list` and `tools/call`.
    pub tools: M,
    /// Each role's rate limit, which a `tools/call` of an MCP tool counts against as any request of
    /// the principal does.
    pub principal_limits: RateLimits,
    /// How the first message of a connection opened without credentials is authenticated (`None`:
    /// such connections are not accepted).
    pub auth: Option<Authenticator<K, A>>,
    /// Where this function's invocations are counted, and `system/performance` reads the tenant's
    /// figures (`None`: nowhere, and `system/performance` says so).
    pub metrics: Option<Recorder>,
    /// The queues' depths for `system/performance` (`None`: not reported).
    pub queues: Option<std::sync::Arc<dyn QueueDepths>>,
}

/// Port: the MCP endpoint's tools (built-in and the tenant's registered ones), as `tools/list` and
/// `tools/call` reach them: the same tools, roles and argument checks.
pub trait McpTools: Send + Sync {
    /// The tools the principal sees, as MCP's `tools/list` gives them.
    fn list(&self, who: &Principal) -> impl std::future::Future<Output = anyhow::Result<Vec<Value>>> + Send;
    /// The tool's result as MCP's `tools/call` gives it (`isError` for a failure a caller can act on),
    /// or why the call is refused (an unknown tool); `request_id` names the call in the audit log.
    fn call(
        &self,
        who: &Principal,
        name: &str,
        args: &Value,
        request_id: &str,
    ) -> impl std::future::Future<Output = anyhow::Result<Result<Value, String>>> + Send;
}

/// No MCP tools: only the system tools.
impl McpTools for () {
    async fn list(&self, _: &Principal) -> anyhow::Result<Vec<Value>> {
        Ok(Vec::new())
    }

    async fn call(&self, _: &Principal, name: &str, _: &Value, _: &str) -> anyhow::Result<Result<Value, String>> {
        Ok(Err(format!("unknown tool {name}")))
    }
}

/// Port: what `stream/analyze` reads: a tenant's tasks, one or the newest.
pub trait StreamTasks: Send + Sync {
    fn task(
        &self,
        tenant: &str,
        task_id: &str,
    ) -> impl std::future::Future<Output = anyhow::Result<Option<Task>>> + Send;
    /// A page of the tenant's tasks, newest first, after `after`.
    fn newest(
        &self,
        tenant: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl std::future::Future<Output = anyhow::Result<(Vec<Task>, Option<String>)>> + Send;
}

impl<T: TaskStore + TaskListing, X: Send + Sync, R: Send + Sync, P: Send + Sync> StreamTasks for Stores<T, X, R, P> {
    async fn task(&self, tenant: &str, task_id: &str) -> anyhow::Result<Option<Task>> {
        let now = Utc::now().timestamp();
        Ok(self.tasks.get(tenant, task_id).await?.filter(|t| !t.expired(now)))
    }

    async fn newest(
        &self,
        tenant: &str,
        after: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<(Vec<Task>, Option<String>)> {
        let filter = TaskFilter::default();
        Ok(self
            .tasks
            .list_tasks(tenant, &filter, limit, after, Utc::now().timestamp())
            .await?)
    }
}

/// The system tools the WebSocket API adds to the MCP tools.
#[must_use]
pub fn system_tools() -> Vec<Value> {
    vec![
        json!({"name": "system/diagnostics", "description": "This connection's messages, violations and subscriptions, the tenant's open connections, and a check of every dependency",
               "inputSchema": {"type": "object", "additionalProperties": false, "properties": {}}}),
        json!({"name": "system/performance", "description": "The tenant's figures over the last `minutes`, as the functions recorded them: invocations, client errors, errors and p50/p95/p99 latency per function; tasks started (with their queue wait), completed, failed and cancelled; and the depth of every queue",
               "inputSchema": {"type": "object", "additionalProperties": false, "properties": {
                   "minutes": {"type": "integer", "minimum": 1, "maximum": MAX_ANALYSIS_MINUTES, "default": 60}}}}),
        json!({"name": "stream/analyze", "description": "How streamed completions went: one task's stream, or every streamed task of the last `minutes` (chunks, time to first chunk, gaps between chunks, restarts, failures)",
               "inputSchema": {"type": "object", "additionalProperties": false, "properties": {
                   "task_id": {"type": "string"},
                   "minutes": {"type": "integer", "minimum": 1, "maximum": MAX_ANALYSIS_MINUTES, "default": 60}}}}),
        json!({"name": "workflow/analyze", "description": "A pipeline's executions in a time range: duration per stage, failure and retry rates (not built yet: the analysis is empty; GET /api/v1/pipelines/{id}/executions lists the executions)",
               "inputSchema": {"type": "object", "additionalProperties": false, "properties": {
                   "pipeline_id": {"type": "string"},
                   "minutes": {"type": "integer", "minimum": 1, "maximum": MAX_ANALYSIS_MINUTES, "default": 60}}}}),
    ]
}

/// The longest window an analysis covers, in minutes (a day).
pub const MAX_ANALYSIS_MINUTES: i64 = 1440;
/// Tasks an analysis reads at most (newest first).
pub const MAX_ANALYZED_TASKS: usize = 1000;

/// A tool result as MCP gives it: the value as text and as structured content.
fn tool_result(outcome: Result<Value, String>) -> anyhow::Result<Value> {
    let result = match outcome {
        Ok(value) => rmcp::model::CallToolResult::structured(value),
        // As MCP answers a call it cannot carry out: a result the caller can read and act on.
        Err(failure) => rmcp::model::CallToolResult::error(vec![rmcp::model::ContentBlock::text(failure)]),
    };
    Ok(serde_json::to_value(result)?)
}

/// The `minutes` argument: 1 to [`MAX_ANALYSIS_MINUTES`], 60 by default.
fn minutes(args: &Value) -> Result<i64, String> {
    match args.get("minutes") {
        None | Some(Value::Null) => Ok(60),
        Some(v) => v
            .as_i64()
            .filter(|m| (1..=MAX_ANALYSIS_MINUTES).contains(m))
            .ok_or_else(|| format!("minutes must be 1 to {MAX_ANALYSIS_MINUTES}")),
    }
}

/// `stream/analyze`: one streamed task's figures, or every streamed task of the window's together.
async fn stream_analysis<V: StreamTasks>(
    tasks: &V,
    tenant: &str,
    args: &Value,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Result<Value, String>> {
    if let Some(id) = args.get("task_id").and_then(Value::as_str) {
        if IdKind::Task.check(id).is_err() {
            return Ok(Err("no task with that id: task_ and 28 hex digits".into()));
        }
        return Ok(match tasks.task(tenant, id).await? {
            Some(task) if task.stream => Ok(json!({"task_id": task.task_id, "status": task.status,
                "error_code": task.error_code, "stream": task.stream_stats})),
            Some(_) => Err(format!("task {id} was not streamed (ask with stream: true)")),
            None => Err(format!("no task {id}")),
        });
    }
    let minutes = match minutes(args) {
        Ok(m) => m,
        Err(refused) => return Ok(Err(refused)),
    };
    let from = now - chrono::Duration::minutes(minutes);
    let (mut streams, mut after, mut read) = (Vec::new(), None, 0);
    'pages: loop {
        let (page, next) = tasks.newest(tenant, after.as_deref(), 100).await?;
        for task in page {
            read += 1;
            let created = chrono::DateTime::parse_from_rfc3339(&task.created_at).map(|c| c.with_timezone(&Utc));
            if created.is_ok_and(|c| c < from) || read > MAX_ANALYZED_TASKS {
                break 'pages;
            }
            if task.stream {
                streams.push(task);
            }
        }
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let stats: Vec<&StreamStats> = streams.iter().filter_map(|t| t.stream_stats.as_ref()).collect();
    let mut firsts: Vec<u64> = stats.iter().filter_map(|s| s.first_chunk_ms).collect();
    let mut gaps: Vec<u64> = stats.iter().filter_map(|s| s.gap_p50_ms).collect();
    firsts.sort_unstable();
    gaps.sort_unstable();
    let mut failures = std::collections::BTreeMap::<String, u64>::new();
    for task in &streams {
        if let Some(code) = &task.error_code {
            *failures.entry(code.clone()).or_default() += 1;
        }
    }
    Ok(Ok(json!({
        "window_minutes": minutes,
        "tasks_read": read.min(MAX_ANALYZED_TASKS),
        "streams": streams.len(),
        "finished": stats.len(),
        "failed_by_code": failures,
        "restarted": stats.iter().filter(|s| s.attempts > 1).count(),
        "chunks": stats.iter().map(|s| s.chunks).sum::<u64>(),
        "first_chunk_ms": {"p50": percentile(&firsts, 0.5), "p95": percentile(&firsts, 0.95)},
        "gap_ms": {"p50_of_medians": percentile(&gaps, 0.5), "max": stats.iter().filter_map(|s| s.gap_max_ms).max()},
    })))
}

/// `system/performance`: the tenant's series over the window, from minute buckets for up to an
/// hour and hour buckets beyond (whole buckets: the window is widened to the start of the bucket it
/// starts in, and says so in `from`), and for an admin the queues' depths now.
async fn performance(
    recorder: Option<&Recorder>,
    queues: Option<&dyn QueueDepths>,
    who: &Connection,
    args: &Value,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Result<Value, String>> {
    let tenant = who.tenant.as_str();
    let minutes = match minutes(args) {
        Ok(m) => m,
        Err(refused) => return Ok(Err(refused)),
    };
    let Some(recorder) = recorder else {
        return Ok(Err("this deployment records no metrics".into()));
    };
    // The queues are the system's: only a tenant's admin sees their depths.
    let queues = queues.filter(|_| who.role == shared::auth::Role::Admin);
    let figures =
        metrics::report::figures(recorder.store.as_ref(), queues, tenant, minutes, now.timestamp_millis()).await?;
    Ok(Ok(figures))
}

/// `workflow/analyze`: not built yet; it answers an empty analysis that says so and where the
/// executions are read.
fn workflow_analysis(args: &Value) -> Result<Value, String> {
    let minutes = minutes(args)?;
    Ok(
        json!({"window_minutes": minutes, "pipeline_id": args.get("pipeline_id"), "executions": 0,
              "stages": [], "failure_rate": null, "retry_rate": null,
              "note": "the workflow analysis is not built yet: GET /api/v1/pipelines/{pipeline_id}/executions lists a pipeline's executions with each stage's status, attempts and timings"}),
    )
}

pub use crate::health::{HealthChecks, HEALTH_CACHE};

/// A request's answer, or the protocol error to answer instead (a violation of the connection).
type Answer = Result<String, ProtocolError>;

/// Topics in one `subscribe` request, at most.
pub const MAX_TOPICS_PER_REQUEST: usize = 20;

pub use shared::connections::MAX_TOPICS_PER_CONNECTION;

/// What a topic names in the tenant: `task:<id>` an unexpired task, `context:<id>` an unexpired
/// context.
pub trait TopicCheck: Send + Sync {
    /// `None` when the topic names nothing of the tenant; else the state a subscriber starts from: a
    /// task as `GET /tasks/{id}` shows it, `null` for a context.
    fn read(
        &self,
        tenant: &str,
        topic: &Topic,
    ) -> impl std::future::Future<Output = anyhow::Result<Option<serde_json::Value>>> + Send;
}

/// A topic a connection may subscribe to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic {
    Task(String),
    Context(String),
    /// A registered resource, by URI.
    Resource(String),
    /// The tenant's agents.
    Agents,
    /// A pipeline's executions (`pipeline_progress`).
    Pipeline(String),
}

impl Topic {
    /// `agents`, `task:<task id>`, `context:<context id>`, `pipeline:<pipeline id>` (the id in its
    /// format) or `resource:<uri>` (a URI as a registered resource has one).
    fn parse(text: &str) -> Option<Self> {
        if text == crate::agents::AGENTS_TOPIC {
            return Some(Self::Agents);
        }
        match text.split_once(':')? {
            ("task", id) if IdKind::Task.matches(id) => Some(Self::Task(id.to_owned())),
            ("context", id) if IdKind::Context.matches(id) => Some(Self::Context(id.to_owned())),
            ("pipeline", id) if IdKind::Pipeline.matches(id) => Some(Self::Pipeline(id.to_owned())),
            ("resource", uri) if IdKind::Registered(Kind::Resource).matches(uri) => {
                Some(Self::Resource(uri.to_owned()))
            }
            _ => None,
        }
    }
}

/// [`TopicCheck`] against the stores.
pub struct Stores<T, X, R, P = InMemoryPipelines> {
    pub tasks: T,
    pub contexts: X,
    pub registry: R,
    pub pipelines: P,
}

impl<T: TaskStore, X: ContextStore, R: RegistryStore, P: PipelineStore> TopicCheck for Stores<T, X, R, P> {
    async fn read(&self, tenant: &str, topic: &Topic) -> anyhow::Result<Option<serde_json::Value>> {
        let now = Utc::now().timestamp();
        Ok(match topic {
            Topic::Agents => Some(serde_json::Value::Null),
            Topic::Resource(uri) => {
                let resource = self.registry.get(tenant, Kind::Resource, uri).await?;
                resource.map(|_| serde_json::Value::Null)
            }
            Topic::Task(id) => {
                let task = self.tasks.get(tenant, id).await?.filter(|t| !t.expired(now));
                task.map(serde_json::to_value).transpose()?
            }
            Topic::Context(id) => {
                let context = self.contexts.get(tenant, id).await?;
                context.filter(|c| c.expires_at > now).map(|_| serde_json::Value::Null)
            }
            Topic::Pipeline(id) => {
                let pipeline = self
                    .pipelines
                    .get(tenant, id)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                pipeline.map(|_| serde_json::Value::Null)
            }
        })
    }
}

/// `subscribe` with `{"topics": […]}`: each topic read in the caller's tenant (another tenant's id
/// is refused exactly as an unknown one), then every one subscribed, up to
/// [`MAX_TOPICS_PER_CONNECTION`] in all. The answer carries each task's state; a task not finished
/// when first read is read again after the subscription, so a task that finishes meanwhile is not
/// missed (its `task_update` went out before, and its final state is in the answer).
async fn subscribe<C: ConnectionStore, V: TopicCheck>(
    connections: &C,
    topics: &V,
    received: &Received,
    message_id: &str,
    params: &serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<Answer> {
    let refuse = |code, message: String| Ok(Err(ProtocolError::new(code, message).about(Some(message_id))));
    let connection = &received.connection;
    let Some(list) = params.get("topics").and_then(serde_json::Value::as_array) else {
        return refuse(
            ErrorCode::InvalidMessageFormat,
            "subscribe needs params.topics, a list".into(),
        );
    };
    if list.is_empty() || list.len() > MAX_TOPICS_PER_REQUEST {
        return refuse(
            ErrorCode::InvalidMessageFormat,
            format!("params.topics must hold 1 to {MAX_TOPICS_PER_REQUEST} topics"),
        );
    }
    let mut read = Vec::new();
    for value in list {
        let name = value.as_str().unwrap_or_default();
        let Some(topic) = Topic::parse(name) else {
            return refuse(
                ErrorCode::InvalidMessageFormat,
                format!("{name:?} is not a topic: task:<task id>, context:<context id>, pipeline:<pipeline id>, resource:<uri> or agents"),
            );
        };
        let Some(state) = topics.read(&connection.tenant, &topic).await? else {
            return refuse(
                ErrorCode::UnauthorizedAccess,
                format!("no {name} (it may have expired)"),
            );
        };
        read.push((name.to_owned(), topic, state));
    }
    let new = read.iter().filter(|(name, ..)| !received.topics.contains(name)).count();
    if received.topics.len() + new > MAX_TOPICS_PER_CONNECTION {
        return refuse(
            ErrorCode::InvalidMessageFormat,
            format!(
                "a connection may hold {MAX_TOPICS_PER_CONNECTION} topics; this one holds {}",
                received.topics.len()
            ),
        );
    }
    for (name, ..) in &read {
        // Filled meanwhile by another request, or closed: refused, the topics before it kept.
        match subscription::subscribe(connections, connection, name).await {
            Ok(()) => {}
            Err(SubscribeError::Full) => {
                return refuse(ErrorCode::InvalidMessageFormat, SubscribeError::Full.to_string())
            }
            Err(SubscribeError::ConnectionNotFound(_)) => {
                return refuse(ErrorCode::UnauthorizedAccess, "this connection is not open".into())
            }
            Err(SubscribeError::Unknown(e)) => return Err(e),
        }
    }
    let mut tasks = serde_json::Map::new();
    for (_, topic, mut state) in read {
        if let Topic::Task(id) = &topic {
            if matches!(state["status"].as_str(), Some("pending" | "running")) {
                state = topics.read(&connection.tenant, &topic).await?.unwrap_or(state);
            }
            tasks.insert(id.clone(), state);
        }
    }
    let names: Vec<&str> = list.iter().filter_map(serde_json::Value::as_str).collect();
    Ok(Ok(envelope::response(
        message_id,
        &json!({"subscribed": names, "tasks": tasks}),
        &json!({}),
    )))
}

/// Events one `events/since` answer holds at most (fewer when they pass [`MAX_EVENTS_BYTES`]).
pub const MAX_EVENTS_PER_ANSWER: usize = 50;
/// Bytes of events one `events/since` answer holds at most (API Gateway's 128 KiB is the ceiling).
pub const MAX_EVENTS_BYTES: usize = 96 * 1024;

/// How far before `after` an `events/since` answer starts: ids carry the publishing function's clock
/// and a random tail, so an event published just before the one a client saw last may sort after it.
pub const EVENT_SKEW_MS: i64 = 5_000;

/// `events/since` with `{"after": <event id>, "topics": […]}` (both optional): the kept events of the
/// connection's subscribed topics (or of the listed ones, each of which it must be subscribed to),
/// oldest first, each once. `after` answers from [`EVENT_SKEW_MS`] before it (so nothing published
/// around it is skipped; the client drops the ids it has seen); `cursor`, the `next_cursor` of an
/// answer that stopped at its limits, continues exactly after it. `complete` is false when `after` is
/// older than the events kept ([`EVENT_RETENTION_SECS`]), so some may be gone: read the state of what
/// matters instead.
async fn events_since<C: EventLog>(
    log: &C,
    received: &Received,
    message_id: &str,
    params: &serde_json::Map<String, serde_json::Value>,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Answer> {
    let refuse = |code, message: String| Ok(Err(ProtocolError::new(code, message).about(Some(message_id))));
    let mut ids = [None, None];
    for (slot, field) in ids.iter_mut().zip(["after", "cursor"]) {
        *slot = match params.get(field) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(id)) if envelope::is_event_id(id) => Some(id.as_str()),
            Some(_) => {
                return refuse(
                    ErrorCode::InvalidMessageFormat,
                    format!("params.{field} must be the message_id of an event (evt_ and 28 hex digits)"),
                )
            }
        };
    }
    let [after, cursor] = ids;
    // The exclusive lower bound of the ids to answer.
    let from = match (cursor, after) {
        (Some(cursor), _) => Some(cursor.to_owned()),
        (None, Some(after)) => {
            let ms = event_ms(after).unwrap_or(0).saturating_sub(EVENT_SKEW_MS).max(0);
            Some(format!("evt_{ms:012x}{}", "0".repeat(16)))
        }
        (None, None) => None,
    };
    let topics: Vec<String> = match params.get("topics") {
        None | Some(serde_json::Value::Null) => received.topics.clone(),
        Some(serde_json::Value::Array(list)) => {
            let mut topics = Vec::new();
            for value in list {
                match value.as_str() {
                    Some(topic) if received.topics.iter().any(|t| t == topic) => topics.push(topic.to_owned()),
                    _ => {
                        return refuse(
                            ErrorCode::UnauthorizedAccess,
                            format!("not subscribed to {value}: subscribe to a topic before asking for its events"),
                        )
                    }
                }
            }
            topics
        }
        Some(_) => return refuse(ErrorCode::InvalidMessageFormat, "params.topics must be a list".into()),
    };
    if topics.is_empty() {
        return refuse(
            ErrorCode::InvalidMessageFormat,
            "this connection is subscribed to nothing: subscribe, then ask for the events since".into(),
        );
    }
    let tenant = &received.connection.tenant;
    let reads = futures::future::try_join_all(
        topics
            .iter()
            .map(|topic| log.since(tenant, topic, from.as_deref(), MAX_EVENTS_PER_ANSWER + 1)),
    )
    .await?;
    // The event `after` names was seen; those just before it may be answered again.
    let found: std::collections::BTreeMap<String, String> = reads
        .into_iter()
        .flatten()
        .filter(|e| Some(e.event_id.as_str()) != after)
        .map(|e| (e.event_id, e.message))
        .collect();
    let (mut events, mut bytes, mut last) = (Vec::new(), 0, None);
    for (id, message) in &found {
        // At least one event an answer, however large, so that its cursor moves on.
        let full = events.len() == MAX_EVENTS_PER_ANSWER || bytes + message.len() > MAX_EVENTS_BYTES;
        if full && !events.is_empty() {
            break;
        }
        bytes += message.len();
        events.push(serde_json::from_str::<serde_json::Value>(message)?);
        last = Some(id);
    }
    let more = events.len() < found.len();
    let kept_from_ms = (now.timestamp() - EVENT_RETENTION_SECS) * 1000;
    let complete = after.is_none_or(|a| event_ms(a).is_some_and(|ms| ms >= kept_from_ms));
    Ok(Ok(envelope::response(
        message_id,
        &json!({"events": events, "more": more, "next_cursor": if more { last } else { None },
                "complete": complete, "topics": topics, "retention_secs": EVENT_RETENTION_SECS}),
        &json!({}),
    )))
}

/// The milliseconds an event id was made at.
fn event_ms(event_id: &str) -> Option<i64> {
    i64::from_str_radix(event_id.get(4..16)?, 16).ok()
}

fn connection_id(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::WebSocket(ctx)) => ctx.connection_id.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

fn answer(status: u16, body: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(status).unwrap_or_default();
    response
}

/// A token as `?token=` or the first-message `auth` carries it: an API key (`mcpf_…`) or a JWT.
struct Token {
    api_key: Option<String>,
    bearer: Option<String>,
}

impl Token {
    fn of(token: &str) -> Self {
        if token.starts_with(shared::auth::apikey::PREFIX) {
            Self {
                api_key: Some(token.to_owned()),
                bearer: None,
            }
        } else {
            Self {
                api_key: None,
                bearer: Some(format!("Bearer {token}")),
            }
        }
    }

    fn credentials(&self) -> Credentials<'_> {
        Credentials {
            api_key: self.api_key.as_deref(),
            authorization: self.bearer.as_deref(),
        }
    }
}

/// Authenticates `credentials` as `$connect` does; the connection to store, or the refusal's status
/// and code (`401`, `403`, `429`).
async fn authenticate<K: KeyStore, L: RateLimiter>(
    auth: &Authenticator<K, L>,
    id: &str,
    credentials: Credentials<'_>,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Result<Connection, (u16, ErrorCode)>> {
    Ok(match auth.decide(credentials, "$connect", now).await? {
        AuthOutcome::Allowed(principal) => {
            // A connection opened with a JWT lasts no longer than the token.
            let token_expiry = match principal.method {
                AuthMethod::Jwt => credentials
                    .authorization
                    .and_then(|h| h.strip_prefix("Bearer "))
                    .and_then(shared::auth::jwt::expiry),
                AuthMethod::ApiKey => None,
            };
            let lifetime = now.timestamp() + CONNECTION_TTL_SECS;
            Ok(Connection {
                connection_id: id.to_owned(),
                tenant: principal.tenant.to_string(),
                subject: principal.subject,
                role: principal.role,
                method: principal.method,
                connected_at_ms: now.timestamp_millis(),
                expires_at: token_expiry.map_or(lifetime, |exp| exp.min(lifetime)),
            })
        }
        AuthOutcome::Unauthenticated { .. } => Err((401, ErrorCode::InvalidApiKey)),
        AuthOutcome::Forbidden { .. } => Err((403, ErrorCode::UnauthorizedAccess)),
        AuthOutcome::RateLimited { .. } => Err((429, ErrorCode::RateLimitExceeded)),
        // Only the authorizer turns a failed decision into this verdict; here it stays the error.
        AuthOutcome::Unavailable => anyhow::bail!("the credentials could not be checked"),
    })
}

/// `$connect`: the credentials of the handshake (`X-API-Key`, `Authorization: Bearer <JWT>`, or for
/// browsers, which cannot set headers, a `token` query parameter holding either), checked as the HTTP
/// API's authorizer checks them. `200` stores the connection; `401`, `403` or `429` refuse the handshake.
/// A handshake with no credentials at all is accepted when first-message authentication is
/// configured: the connection must then authenticate with its first message within
/// [`AUTH_WINDOW_MS`] (see [`message`]).
///
/// A key store or rate limiter that cannot be reached refuses the handshake with `503` and
/// `Retry-After`.
///
/// # Errors
/// When the table cannot be written (API Gateway then refuses the handshake).
pub async fn connect<C: ConnectionStore, K: KeyStore, L: RateLimiter, T: AuthTimeouts>(
    deps: &ConnectDeps<C, K, L, T>,
    req: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    // A `token` query parameter is an API key (`mcpf_…`) or a JWT; headers win over it.
    let token = req
        .query_string_parameters_ref()
        .and_then(|q| q.first("token"))
        .map(Token::of);
    let credentials = match (header("x-api-key"), header("authorization"), &token) {
        (None, None, Some(token)) => token.credentials(),
        (api_key, authorization, _) => Credentials { api_key, authorization },
    };
    let now = Utc::now();
    let id = connection_id(&req);
    if let (None, None, Some(timeouts)) = (credentials.api_key, credentials.authorization, &deps.timeouts) {
        let deadline = now.timestamp_millis() + AUTH_WINDOW_MS;
        deps.connections
            .put_pending(&id, deadline, now.timestamp() + PENDING_TTL_SECS)
            .await?;
        timeouts.schedule(&id).await?;
        tracing::info!(connection = %id, "WebSocket connected; waiting for its first-message authentication");
        return Ok(answer(200, String::new()));
    }
    let decided = match authenticate(&deps.auth, &id, credentials, now).await {
        Ok(decided) => decided,
        // The key store or the rate limiter cannot be reached: a 503 to try again, not a crash.
        Err(e) if shared::error::is_unavailable(e.as_ref()) => {
            tracing::error!(connection = %id, error = %format!("{e:#}"), "WebSocket handshake refused: a store is unavailable");
            let mut refused = answer(503, json!({"error_code": "DEPENDENCY_UNAVAILABLE"}).to_string());
            let wait = shared::error::UNAVAILABLE_RETRY_AFTER_SECS;
            refused
                .headers_mut()
                .insert(lambda_http::http::header::RETRY_AFTER, wait.into());
            return Ok(refused);
        }
        Err(e) => return Err(e.into()),
    };
    let (status, code) = match decided {
        Ok(connection) => {
            deps.connections.put(&connection).await?;
            tracing::info!(connection = %id, tenant = %connection.tenant, "WebSocket connected");
            return Ok(answer(200, String::new()));
        }
        Err(refused) => refused,
    };
    tracing::info!(connection = %id, status, "WebSocket handshake refused");
    Ok(answer(status, json!({"error_code": code.as_str()}).to_string()))
}

/// The first message of a connection opened without credentials: `{"type": "auth", "token": <API key
/// or JWT>}` within its window, answered with the welcome. Anything else, or nothing in time, closes
/// it, and nothing else is answered before it.
async fn first_message<C, P, L, V, H, M, K, A>(
    deps: &MessageDeps<C, P, L, V, H, M, K, A>,
    id: &str,
    body: &str,
    deadline_ms: i64,
    now: chrono::DateTime<Utc>,
) -> Result<Response<Body>, lambda_http::Error>
where
    C: ConnectionStore,
    P: Pusher,
    K: KeyStore,
    A: RateLimiter,
{
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Auth {
        #[serde(rename = "type")]
        kind: String,
        token: String,
    }
    let asked = serde_json::from_str::<Auth>(body)
        .ok()
        .filter(|a| a.kind == "auth" && now.timestamp_millis() <= deadline_ms);
    let outcome = match (asked, &deps.auth) {
        (Some(asked), Some(auth)) => Some(authenticate(auth, id, Token::of(&asked.token).credentials(), now).await?),
        _ => None,
    };
    let (answer_text, open) = match outcome {
        Some(Ok(connection)) => {
            deps.connections.put(&connection).await?;
            // This message counts as the connection's first: the welcome is its answer.
            deps.connections.received(id, now.timestamp_millis()).await?;
            tracing::info!(connection = %id, tenant = %connection.tenant, "WebSocket authenticated by its first message");
            (envelope::welcome(id, deps.messages_per_minute), true)
        }
        Some(Err((_, code))) => {
            let refused = ProtocolError::new(code, "the auth message's token was refused");
            (envelope::error(&refused), false)
        }
        None => (String::new(), false),
    };
    if !open {
        tracing::info!(connection = %id, "WebSocket closed: no valid first-message authentication");
        if !answer_text.is_empty() {
            let _ = deps.pusher.push(id, &answer_text).await;
        }
        if let Err(e) = deps.pusher.close(id).await {
            tracing::warn!(connection = %id, error = %e, "connection not closed");
        }
        deps.connections.delete(id).await?;
    }
    Ok(answer(200, answer_text))
}

/// `ws-auth-timeout`: each message names a connection whose window to authenticate has passed; one
/// that is still waiting is closed (one that authenticated, or went, is left alone).
///
/// # Errors
/// Never: a connection that cannot be checked is reported for retry.
pub async fn auth_timeout<C: ConnectionStore, P: Pusher>(
    connections: &C,
    pusher: &P,
    event: lambda_runtime::LambdaEvent<aws_lambda_events::sqs::SqsEvent>,
) -> Result<aws_lambda_events::sqs::SqsBatchResponse, lambda_runtime::Error> {
    let mut failures = Vec::new();
    for record in event.payload.records {
        let id = record
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<Value>(b).ok())
            .and_then(|b| b["connection_id"].as_str().map(str::to_owned));
        let Some(id) = id else {
            tracing::error!(message_id = ?record.message_id, "unreadable auth timeout dropped");
            continue;
        };
        let checked = async {
            if connections.pending(&id).await?.is_some() && connections.get(&id).await?.is_none() {
                tracing::info!(connection = %id, "WebSocket closed: no authentication within its window");
                match pusher.close(&id).await {
                    Ok(()) | Err(PushError::Gone(_)) => {}
                    Err(PushError::Unknown(e)) => return Err(e),
                }
                connections.delete(&id).await?;
            }
            anyhow::Ok(())
        };
        if let Err(e) = checked.await {
            tracing::warn!(connection = %id, error = %e, "auth timeout not checked; will retry");
            failures.push(record.message_id.unwrap_or_default());
        }
    }
    Ok(crate::worker::response(failures))
}

/// `$disconnect`: forgets the connection (best effort: its item also expires).
///
/// # Errors
/// When the table cannot be reached.
pub async fn disconnect<C: ConnectionStore>(
    connections: &C,
    req: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let id = connection_id(&req);
    connections.delete(&id).await?;
    tracing::info!(connection = %id, "WebSocket disconnected");
    Ok(answer(200, String::new()))
}

/// `$default`: one message, answered through the route response.
///
/// # Errors
/// When the table cannot be reached (API Gateway then answers an internal error).
pub async fn message<C, P, L, V, H, M, K, A>(
    deps: &MessageDeps<C, P, L, V, H, M, K, A>,
    req: Request,
) -> Result<Response<Body>, lambda_http::Error>
where
    C: ConnectionStore + EventLog,
    P: Pusher,
    L: RateLimiter,
    V: TopicCheck + StreamTasks,
    H: DependencyProbe,
    M: McpTools,
    K: KeyStore,
    A: RateLimiter,
{
    let started = std::time::Instant::now();
    let mut caller = None;
    let method = serde_json::from_slice::<Value>(req.body().as_ref())
        .ok()
        .and_then(|m| m["method"].as_str().map(|m| m.chars().take(64).collect::<String>()));
    let request_id = req
        .request_context_ref()
        .and_then(|c| match c {
            lambda_http::request::RequestContext::WebSocket(ws) => ws.request_id.clone(),
            _ => None,
        })
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| shared::ids::new_id("wsm", Utc::now().timestamp_millis()).unwrap_or_default());
    let answered = answer_message(deps, req, &mut caller).await;
    let outcome = match &answered {
        Err(_) => Outcome::Failed,
        Ok(response) if envelope::is_error(response.body().as_ref()) => Outcome::Refused,
        Ok(_) => Outcome::Succeeded,
    };
    let tenant = caller.as_ref().map(|(tenant, _)| tenant.as_str());
    let logged = async {
        if let (Some(recorder), Some((tenant, subject))) = (deps.metrics.as_ref(), &caller) {
            let answer = answered.as_ref().ok().map(|r| r.body().as_ref());
            let event = message_event(tenant, subject, &request_id, method.as_deref(), answer, started);
            recorder.event(event).await;
        }
    };
    tokio::join!(
        metrics::record_invocation(deps.metrics.as_ref(), tenant, started, outcome),
        logged
    );
    answered
}

/// A message of an open connection in its tenant's logs: route `WS $default`, its `ws_method`, the
/// status (`200`; `500` when it could not be answered), and an error answer's `error_code` as `code`.
fn message_event(
    tenant: &str,
    subject: &str,
    request_id: &str,
    method: Option<&str>,
    answer: Option<&[u8]>,
    started: std::time::Instant,
) -> shared::logs::LogEvent {
    let answer: Value = answer
        .and_then(|a| serde_json::from_slice(a).ok())
        .unwrap_or(Value::Null);
    let code = (answer["message_type"] == "error")
        .then(|| answer["error_code"].as_str().map(str::to_owned))
        .flatten();
    let status = if answer.is_null() { 500 } else { 200 };
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let event = shared::logs::request_event(
        tenant,
        request_id,
        "WS $default",
        status,
        latency_ms,
        subject,
        code.as_deref(),
    );
    match method {
        Some(method) => event.with("ws_method", method),
        None => event,
    }
}

/// [`message`]'s answer; `caller` (tenant and subject) is set once the message is known to come from
/// an open connection.
async fn answer_message<C, P, L, V, H, M, K, A>(
    deps: &MessageDeps<C, P, L, V, H, M, K, A>,
    req: Request,
    caller: &mut Option<(String, String)>,
) -> Result<Response<Body>, lambda_http::Error>
where
    C: ConnectionStore + EventLog,
    P: Pusher,
    L: RateLimiter,
    V: TopicCheck + StreamTasks,
    H: DependencyProbe,
    M: McpTools,
    K: KeyStore,
    A: RateLimiter,
{
    let id = connection_id(&req);
    let body = std::str::from_utf8(req.body().as_ref()).unwrap_or_default();
    let now = Utc::now();
    // One write counts the message and reads the connection back (limited messages count too).
    let Some(received) = deps.connections.received(&id, now.timestamp_millis()).await? else {
        if let Some(deadline_ms) = deps.connections.pending(&id).await? {
            return first_message(deps, &id, body, deadline_ms, now).await;
        }
        let refused = ProtocolError::new(ErrorCode::UnauthorizedAccess, "this connection is not open");
        return Ok(answer(200, envelope::error(&refused)));
    };
    let connection = &received.connection;
    *caller = Some((connection.tenant.clone(), connection.subject.clone()));
    if connection.expires_at <= now.timestamp() {
        // Its JWT has expired (or its item outlived its TTL): nothing more is answered on it.
        let expired = ProtocolError::new(
            ErrorCode::UnauthorizedAccess,
            "this connection's credentials have expired: reconnect with fresh ones",
        );
        tracing::info!(connection = %id, tenant = %connection.tenant, "WebSocket closed: credentials expired");
        if let Err(e) = deps.pusher.push(&id, &envelope::error(&expired)).await {
            tracing::warn!(connection = %id, error = %e, "expiry notice not pushed");
        }
        if let Err(e) = deps.pusher.close(&id).await {
            tracing::warn!(connection = %id, error = %e, "connection not closed");
        }
        return Ok(answer(200, envelope::error(&expired)));
    }
    let now_ms = now.timestamp_millis();
    if received.penalty_until_ms > now_ms {
        let wait = u64::try_from(received.penalty_until_ms - now_ms)
            .unwrap_or(0)
            .div_ceil(1000);
        let cooling = ProtocolError::new(
            ErrorCode::RateLimitExceeded,
            "this connection is cooling down after exceeding its message limit",
        )
        .with_details(json!({"retry_after_secs": wait, "limit_per_minute": deps.messages_per_minute}));
        return refuse(deps, &received, cooling, None).await;
    }
    // A bucket of the connection's own: `#` is in no tenant name, so no principal's bucket is this one.
    let bucket = Bucket {
        tenant: "#ws",
        subject: &id,
    };
    let limit = Limit {
        requests: deps.messages_per_minute,
        per_secs: 60,
    };
    if let Admission::Limited { retry_after_secs } = deps.limiter.admit(bucket, limit, now_ms).await? {
        let times = received.times_exceeded + 1;
        let wait = cool_down(retry_after_secs, times);
        let limited = ProtocolError::new(
            ErrorCode::RateLimitExceeded,
            format!("at most {} messages a minute per connection", deps.messages_per_minute),
        )
        .with_details(
            json!({"retry_after_secs": wait, "limit_per_minute": deps.messages_per_minute,
                             "times_exceeded": times}),
        );
        tracing::warn!(connection = %id, tenant = %connection.tenant, times, "WebSocket rate limit exceeded");
        let until = now_ms.saturating_add(i64::try_from(wait * 1000).unwrap_or(i64::MAX));
        return refuse(deps, &received, limited, Some(until)).await;
    }
    if received.first {
        if let Err(e) = deps
            .pusher
            .push(&id, &envelope::welcome(&id, deps.messages_per_minute))
            .await
        {
            tracing::warn!(connection = %id, error = %e, "welcome not pushed");
        }
    }
    let reply: Answer = match envelope::parse(body) {
        Err(refused) => Err(refused),
        Ok(Inbound::Heartbeat { message_id }) => {
            #[allow(clippy::cast_precision_loss)]
            let uptime = (now_ms - connection.connected_at_ms) as f64 / 1000.0;
            let server_time = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            Ok(envelope::heartbeat(&message_id, &id, uptime, &server_time))
        }
        Ok(Inbound::Request {
            message_id,
            method,
            params,
        }) => match method.as_str() {
            "subscribe" => subscribe(&deps.connections, &deps.topics, &received, &message_id, &params).await?,
            "events/since" => events_since(&deps.connections, &received, &message_id, &params, now).await?,
            "system/diagnostics" => Ok(envelope::response(
                &message_id,
                &diagnostics(deps, &received, now).await?,
                &json!({}),
            )),
            "system/performance" => {
                let figures = performance(
                    deps.metrics.as_ref(),
                    deps.queues.as_deref(),
                    connection,
                    &Value::Object(params.clone()),
                    now,
                )
                .await?;
                match figures {
                    Ok(figures) => Ok(envelope::response(&message_id, &figures, &json!({}))),
                    Err(refused) => {
                        Err(ProtocolError::new(ErrorCode::InvalidMessageFormat, refused).about(Some(&message_id)))
                    }
                }
            }
            "tools/list" => {
                let mut tools = deps.tools.list(&connection.principal()?).await?;
                tools.extend(system_tools());
                Ok(envelope::response(&message_id, &json!({"tools": tools}), &json!({})))
            }
            "tools/call" => tools_call(deps, &received, &message_id, &params, now).await?,
            _ => Err(ProtocolError::new(
                ErrorCode::InvalidMessageFormat,
                format!("unknown method {method}: this server answers {}", METHODS.join(", ")),
            )
            .about(Some(&message_id))
            .with_details(json!({"method": method}))),
        },
    };
    match reply {
        Ok(text) => Ok(answer(200, text)),
        Err(refused) => refuse(deps, &received, refused, None).await,
    }
}

/// The methods a request may name.
pub const METHODS: [&str; 6] = [
    "subscribe",
    "events/since",
    "tools/list",
    "tools/call",
    "system/diagnostics",
    "system/performance",
];

/// `tools/call` with `{"name", "arguments"}`: a system tool, or the MCP endpoint's tool of that name
/// with the connection's principal (its role decides as it does over MCP). Answered with MCP's
/// `CallToolResult`, and the call's duration in `metrics`.
async fn tools_call<C, P, L, V, H, M, K, A>(
    deps: &MessageDeps<C, P, L, V, H, M, K, A>,
    received: &Received,
    message_id: &str,
    params: &serde_json::Map<String, Value>,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Answer>
where
    C: ConnectionStore,
    L: RateLimiter,
    V: StreamTasks,
    H: DependencyProbe,
    M: McpTools,
{
    let refuse = |message: String| {
        Ok(Err(
            ProtocolError::new(ErrorCode::InvalidMessageFormat, message).about(Some(message_id))
        ))
    };
    let Some(name) = params.get("name").and_then(Value::as_str) else {
        return refuse("tools/call needs params.name".into());
    };
    let args = match params.get("arguments") {
        None | Some(Value::Null) => json!({}),
        Some(args @ Value::Object(_)) => args.clone(),
        Some(_) => return refuse("params.arguments must be an object".into()),
    };
    let started = std::time::Instant::now();
    let tenant = &received.connection.tenant;
    let system = match name {
        "system/diagnostics" => Some(Ok(diagnostics(deps, received, now).await?)),
        "system/performance" => Some(
            performance(
                deps.metrics.as_ref(),
                deps.queues.as_deref(),
                &received.connection,
                &args,
                now,
            )
            .await?,
        ),
        "stream/analyze" => Some(stream_analysis(&deps.topics, tenant, &args, now).await?),
        "workflow/analyze" => Some(workflow_analysis(&args)),
        _ => None,
    };
    let result = match system {
        Some(outcome) => tool_result(outcome)?,
        None => {
            // The principal's own rate limit, the bucket its HTTP and MCP requests draw on too.
            let who = received.connection.principal()?;
            let bucket = Bucket {
                tenant: who.tenant.as_str(),
                subject: &who.subject,
            };
            let limit = deps.principal_limits.for_role(who.role);
            if let Admission::Limited { retry_after_secs } =
                deps.limiter.admit(bucket, limit, now.timestamp_millis()).await?
            {
                return Ok(Err(ProtocolError::new(
                    ErrorCode::RateLimitExceeded,
                    format!(
                        "the {} role may make {} requests in {} s",
                        who.role, limit.requests, limit.per_secs
                    ),
                )
                .about(Some(message_id))
                .with_details(
                    json!({"retry_after_secs": retry_after_secs, "scope": "principal"}),
                )));
            }
            let request_id = format!("{}/{message_id}", received.connection.connection_id);
            match deps.tools.call(&who, name, &args, &request_id).await? {
                Ok(result) => result,
                Err(refused) => {
                    return Ok(Err(ProtocolError::new(ErrorCode::InvalidMessageFormat, refused)
                        .about(Some(message_id))
                        .with_details(json!({"tool": name}))))
                }
            }
        }
    };
    let metrics = json!({"duration_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)});
    Ok(Ok(envelope::response(message_id, &result, &metrics)))
}

/// Violations after which a connection is closed.
pub const MAX_VIOLATIONS: u64 = 20;
/// The longest cool-down after exceeding the message limit.
pub const MAX_COOL_DOWN_SECS: u64 = 300;

/// The cool-down after the connection exceeded its limit for the `times`-th time: the bucket's own
/// wait (at least 1 s) the first time, doubled each time after, at most [`MAX_COOL_DOWN_SECS`].
#[must_use]
pub fn cool_down(wait_secs: u64, times: u64) -> u64 {
    let doublings = u32::try_from(times.saturating_sub(1)).unwrap_or(u32::MAX).min(16);
    (wait_secs.max(1) << doublings).min(MAX_COOL_DOWN_SECS)
}

/// Answers `refused`, recorded as a violation of the connection (with a cool-down until
/// `penalty_until_ms`, when given). At [`MAX_VIOLATIONS`] the connection is told why
/// (`SECURITY_VIOLATION`) and closed.
async fn refuse<C: ConnectionStore, P: Pusher, L, V, H, M, K, A>(
    deps: &MessageDeps<C, P, L, V, H, M, K, A>,
    received: &Received,
    refused: ProtocolError,
    penalty_until_ms: Option<i64>,
) -> Result<Response<Body>, lambda_http::Error> {
    let id = &received.connection.connection_id;
    let code = refused.code.as_str();
    let total = deps
        .connections
        .violated(id, code, penalty_until_ms)
        .await?
        .unwrap_or(0);
    if total >= MAX_VIOLATIONS {
        tracing::warn!(connection = %id, tenant = %received.connection.tenant, total, "WebSocket closed after repeated violations");
        let mut violations = received.violations.clone();
        *violations.entry(code.to_owned()).or_default() += 1;
        let closing = ProtocolError::new(
            ErrorCode::SecurityViolation,
            format!("{total} violations on this connection: it is closed"),
        )
        .about(refused.request_id.as_deref())
        .with_details(json!({"violations": violations, "max_violations": MAX_VIOLATIONS}));
        if let Err(e) = deps.pusher.push(id, &envelope::error(&closing)).await {
            tracing::warn!(connection = %id, error = %e, "closing notice not pushed");
        }
        if let Err(e) = deps.pusher.close(id).await {
            tracing::warn!(connection = %id, error = %e, "connection not closed");
        }
    }
    Ok(answer(200, envelope::error(&refused)))
}

/// `system/diagnostics`: this connection's figures (messages received, violations by code, cool-downs
/// earned and one under way, subscriptions, uptime), the tenant's open connections, and whether each
/// dependency answers, as `GET /health` checks them.
async fn diagnostics<C: ConnectionStore, P, L, V, H: DependencyProbe, M, K, A>(
    deps: &MessageDeps<C, P, L, V, H, M, K, A>,
    received: &Received,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Value> {
    let connection = &received.connection;
    let now_ms = now.timestamp_millis();
    let active = deps.connections.tenant_connections(&connection.tenant).await?;
    let health = match &deps.health {
        Some(checks) => checks.report().await?,
        None => Value::Null,
    };
    #[allow(clippy::cast_precision_loss)]
    let uptime = (now_ms - connection.connected_at_ms) as f64 / 1000.0;
    Ok(json!({
        "connection": {
            "client_id": connection.connection_id,
            "uptime_secs": uptime,
            // Every message is answered once, a refusal too.
            "messages_received": received.count,
            "violations": received.violations,
            "violations_total": received.violations_total(),
            "max_violations": MAX_VIOLATIONS,
            "times_exceeded": received.times_exceeded,
            "cooling_down_secs": u64::try_from(received.penalty_until_ms - now_ms).unwrap_or(0).div_ceil(1000),
            "subscriptions": received.topics,
        },
        "tenant": {"active_connections": active},
        "health": health,
    }))
}

#[cfg(test)]
mod tests;
