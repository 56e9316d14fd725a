//! The agent operations, for the REST API: register (with the agent's own token), list, get,
//! heartbeat and delete.

use chrono::{DateTime, Utc};

use super::requests::{AgentFilter, Heartbeat, Registration};
use super::store::AgentStore;
use super::{Agent, AgentError, AgentTimeouts};
use crate::auth::{AuthMethod, Principal, Role};
use crate::conversation::service::stamp;
use crate::keys::admin::new_key;
use crate::keys::KeyStore;
use crate::secret::Secret;

/// A registered agent and its token, which is shown this once.
#[derive(Debug)]
pub struct Registered {
    pub agent: Agent,
    pub token: Secret,
}

/// Registers an agent of the caller's tenant with a token of its own: an API key of role `agent`
/// named `agent <agent id>`, counted among the tenant's keys, stored with the agent (both or neither).
///
/// # Errors
/// [`AgentError::KeysExhausted`] when the tenant holds its most keys, or a store failure.
pub async fn register<S: AgentStore>(
    agents: &S,
    principal: &Principal,
    registration: Registration,
    now: DateTime<Utc>,
) -> Result<Registered, AgentError> {
    let now_ms = now.timestamp_millis();
    let agent_id =
        crate::ids::new_id("agt", now_ms).map_err(|e| AgentError::Unknown(anyhow::anyhow!("random source: {e}")))?;
    let at = stamp(now);
    let key = new_key(&principal.tenant, &format!("agent {agent_id}"), Role::Agent, &at)
        .map_err(|e| AgentError::Unknown(anyhow::Error::new(e).context("agent token not made")))?;
    let agent = Agent {
        agent_id,
        tenant: principal.tenant.to_string(),
        name: registration.name,
        agent_type: registration.agent_type,
        capabilities: registration.capabilities,
        endpoints: registration.endpoints,
        resources: registration.resources,
        reported_status: "idle".into(),
        current_load: 0.0,
        registered_at: at.clone(),
        last_heartbeat: at,
        last_heartbeat_ms: now_ms,
        key_id: key.record.key_id.clone(),
    };
    agents.register(&agent, &key.record).await?;
    Ok(Registered { agent, token: key.key })
}

/// The tenant's agents that pass `filter` at `now_ms`, by name then id.
///
/// # Errors
/// A store failure.
pub async fn list<S: AgentStore>(
    agents: &S,
    principal: &Principal,
    filter: &AgentFilter,
    timeouts: AgentTimeouts,
    now_ms: i64,
) -> Result<Vec<Agent>, AgentError> {
    let mut all = agents.list(&principal.tenant).await?;
    all.retain(|a| {
        filter.status.is_none_or(|s| a.liveness(timeouts, now_ms) == s)
            && filter.agent_type.is_none_or(|t| a.agent_type == t)
            && filter.capability.as_ref().is_none_or(|c| a.capabilities.contains(c))
    });
    all.sort_by(|a, b| (&a.name, &a.agent_id).cmp(&(&b.name, &b.agent_id)));
    Ok(all)
}

/// One of the tenant's agents.
///
/// # Errors
/// [`AgentError::NotFound`] (another tenant's too), or a store failure.
pub async fn get<S: AgentStore>(agents: &S, principal: &Principal, agent_id: &str) -> Result<Agent, AgentError> {
    agents
        .get(&principal.tenant, agent_id)
        .await?
        .ok_or_else(|| AgentError::NotFound(agent_id.to_owned()))
}

/// Records the agent's heartbeat, sent with its own token, in one conditional write (no read first);
/// the agent before and after it.
///
/// # Errors
/// [`AgentError::NotFound`], [`AgentError::NotThisAgent`] for any other credentials, or a store
/// failure.
pub async fn heartbeat<S: AgentStore>(
    agents: &S,
    principal: &Principal,
    agent_id: &str,
    beat: &Heartbeat,
    now: DateTime<Utc>,
) -> Result<(Agent, Agent), AgentError> {
    if principal.method != AuthMethod::ApiKey {
        // Only an API key can be an agent's token (a JWT whose subject spells its key id is not it):
        // nothing is written; the caller learns whether the agent exists, as for any other key.
        get(agents, principal, agent_id).await?;
        return Err(AgentError::NotThisAgent(agent_id.to_owned()));
    }
    let at = stamp(now);
    let at_ms = now.timestamp_millis();
    let before = agents
        .heartbeat(&principal.tenant, agent_id, &principal.subject, beat, (&at, at_ms))
        .await?;
    let after = before.beaten(beat, &at, at_ms);
    Ok((before, after))
}

/// Removes one of the tenant's agents and its token: the token first (so a failure leaves the agent
/// to delete again, never a token without its agent), which frees its place among the tenant's keys.
///
/// # Errors
/// [`AgentError::NotFound`], or a store failure.
pub async fn delete<S: AgentStore, K: KeyStore>(
    agents: &S,
    keys: &K,
    principal: &Principal,
    agent_id: &str,
) -> Result<Agent, AgentError> {
    let agent = get(agents, principal, agent_id).await?;
    keys.delete(&agent.tenant, &agent.key_id)
        .await
        .map_err(|e| AgentError::Unknown(anyhow::Error::new(e).context("agent token not deleted")))?;
    if !agents.delete(&principal.tenant, agent_id).await? {
        return Err(AgentError::NotFound(agent_id.to_owned()));
    }
    Ok(agent)
}
