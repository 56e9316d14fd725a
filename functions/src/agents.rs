//! `/api/v1/agents`: agents register (and get their own token), are listed and read, heartbeat with
//! their token, and are deleted (their token revoked). Each change is an `agent_update` event to the
//! tenant's `agents` topic of the WebSocket API. Mutations are audited.

use std::sync::Arc;

use chrono::Utc;
use lambda_http::Request;
use serde_json::json;
use shared::agents::requests::{self, AgentFilter};
use shared::agents::store::AgentStore;
use shared::agents::{service, Agent, AgentTimeouts, Liveness};
use shared::connections::memory::{InMemoryConnections, InMemoryPusher};
use shared::connections::publish::{self, TopicEvents};
use shared::connections::store::{ConnectionStore, Pusher};
use shared::keys::KeyStore;
use shared::ApiError;

use crate::api::requests::{query, AgentPath, Id, IdWithBody, NewItem};
use crate::api::{ApiRequest, Authorized, Reply};

/// The WebSocket topic of a tenant's agents.
pub const AGENTS_TOPIC: &str = "agents";

/// What the handlers need.
pub struct AgentDeps<S, K, C = InMemoryConnections, P = InMemoryPusher> {
    pub agents: S,
    /// Where agents' tokens are deleted (each is created with its agent, by `AgentStore::register`).
    pub keys: K,
    pub timeouts: AgentTimeouts,
    /// Where `agent_update` events go (`None`: nowhere).
    pub events: Option<Arc<dyn TopicEvents>>,
    /// The WebSocket connections, and the way to close those a deleted agent's token opened (`None`:
    /// no WebSocket API).
    pub sockets: Option<(C, P)>,
}

impl<S, K, C, P> AgentDeps<S, K, C, P> {
    /// Tells the tenant's `agents` subscribers what became of `agent` (`registered`, `heartbeat`,
    /// `deleted`).
    async fn changed(&self, agent: &Agent, change: &str, now_ms: i64) {
        if let Some(events) = &self.events {
            let mut data = agent.view(self.timeouts, now_ms);
            data["change"] = change.into();
            events
                .published(&agent.tenant, &[AGENTS_TOPIC.to_owned()], "agent_update", &data)
                .await;
        }
    }
}

/// `GET /agents?status=&type=&capability=`.
pub struct ListAgents {
    pub filter: AgentFilter,
}

impl ApiRequest for ListAgents {
    fn parse(req: &Request) -> Result<Self, ApiError> {
        let filter = requests::filter(
            query(req, "status").as_deref(),
            query(req, "type").as_deref(),
            query(req, "capability").as_deref(),
        )?;
        Ok(Self { filter })
    }
}

/// `POST /api/v1/agents/register`: the agent, with its `token` (shown this once).
///
/// # Errors
/// A field the registration gets wrong, the tenant's keys exhausted, a store failure.
pub async fn register<S: AgentStore, K, C, P>(
    deps: &AgentDeps<S, K, C, P>,
    req: Authorized<NewItem<AgentPath>>,
) -> Result<Reply, ApiError> {
    let registration = requests::registration(&req.request.body)?;
    let now = Utc::now();
    let registered = service::register(&deps.agents, &req.principal, registration, now).await?;
    let agent = &registered.agent;
    let now_ms = now.timestamp_millis();
    deps.changed(agent, "registered", now_ms).await;
    let mut body = agent.view(deps.timeouts, now_ms);
    body["token"] = registered.token.expose().into();
    Ok(Reply::new(201, &body).about(agent.agent_id.clone()))
}

/// `GET /api/v1/agents`: the tenant's agents that pass the filter, by name.
///
/// # Errors
/// A store failure.
pub async fn list<S: AgentStore, K, C, P>(
    deps: &AgentDeps<S, K, C, P>,
    req: Authorized<ListAgents>,
) -> Result<Reply, ApiError> {
    let now_ms = Utc::now().timestamp_millis();
    let agents = service::list(&deps.agents, &req.principal, &req.request.filter, deps.timeouts, now_ms).await?;
    let views: Vec<_> = agents.iter().map(|a| a.view(deps.timeouts, now_ms)).collect();
    Ok(Reply::ok(&json!({"agents": views})))
}

/// `GET /api/v1/agents/{agentID}`.
///
/// # Errors
/// `AGENT_NOT_FOUND` (another tenant's too), a store failure.
pub async fn get<S: AgentStore, K, C, P>(
    deps: &AgentDeps<S, K, C, P>,
    req: Authorized<Id<AgentPath>>,
) -> Result<Reply, ApiError> {
    let agent = service::get(&deps.agents, &req.principal, &req.request.id).await?;
    Ok(Reply::ok(&agent.view(deps.timeouts, Utc::now().timestamp_millis())))
}

/// `POST /api/v1/agents/{agentID}/heartbeat` with `{"status", "current_load"}`, sent with the agent's
/// own token. Its subscribers hear of it when its status or liveness changes, or its load by 0.1.
///
/// # Errors
/// A wrong field, `AGENT_NOT_FOUND`, `NOT_THIS_AGENT` (403) for other credentials, a store failure.
pub async fn heartbeat<S: AgentStore, K, C, P>(
    deps: &AgentDeps<S, K, C, P>,
    req: Authorized<IdWithBody<AgentPath>>,
) -> Result<Reply, ApiError> {
    let beat = requests::heartbeat(&req.request.body)?;
    let now = Utc::now();
    let (before, after) = service::heartbeat(&deps.agents, &req.principal, &req.request.id, &beat, now).await?;
    let now_ms = now.timestamp_millis();
    let was = before.liveness(deps.timeouts, now_ms);
    if was != Liveness::Active
        || before.reported_status != after.reported_status
        || (before.current_load - after.current_load).abs() >= 0.1
    {
        deps.changed(&after, "heartbeat", now_ms).await;
    }
    Ok(Reply::ok(&after.view(deps.timeouts, now_ms)))
}

/// `DELETE /api/v1/agents/{agentID}`: removes it and its token, and closes the WebSocket connections
/// that token opened.
///
/// # Errors
/// `AGENT_NOT_FOUND`, a store failure.
pub async fn delete<S: AgentStore, K: KeyStore, C: ConnectionStore, P: Pusher>(
    deps: &AgentDeps<S, K, C, P>,
    req: Authorized<Id<AgentPath>>,
) -> Result<Reply, ApiError> {
    let agent = service::delete(&deps.agents, &deps.keys, &req.principal, &req.request.id).await?;
    if let Some((connections, pusher)) = &deps.sockets {
        // Its token is gone either way: a connection missed here is refused nothing until it
        // expires, so a failure is logged for the operator.
        if let Err(e) = publish::close_subject(connections, pusher, &agent.tenant, &agent.key_id).await {
            tracing::error!(agent_id = %agent.agent_id, error = %e, "deleted agent's connections not closed");
        }
    }
    deps.changed(&agent, "deleted", Utc::now().timestamp_millis()).await;
    Ok(Reply::ok(&json!({"deleted": agent.agent_id})))
}

#[cfg(test)]
mod tests;
