//! In-memory [`AgentStore`] for unit tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::requests::Heartbeat;
use super::store::AgentStore;
use super::{Agent, AgentError};

/// Agents by tenant and id.
#[derive(Debug, Default)]
pub struct InMemoryAgents {
    agents: Mutex<BTreeMap<(String, String), Agent>>,
}

impl InMemoryAgents {
    fn agents(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Agent>> {
        self.agents.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl AgentStore for InMemoryAgents {
    async fn put(&self, agent: &Agent) -> Result<(), AgentError> {
        let key = (agent.tenant.clone(), agent.agent_id.clone());
        self.agents().insert(key, agent.clone());
        Ok(())
    }

    async fn get(&self, tenant: &str, agent_id: &str) -> Result<Option<Agent>, AgentError> {
        Ok(self.agents().get(&(tenant.to_owned(), agent_id.to_owned())).cloned())
    }

    async fn list(&self, tenant: &str) -> Result<Vec<Agent>, AgentError> {
        Ok(self.agents().values().filter(|a| a.tenant == tenant).cloned().collect())
    }

    async fn heartbeat(
        &self,
        tenant: &str,
        agent_id: &str,
        beat: &Heartbeat,
        at: &str,
        at_ms: i64,
    ) -> Result<Option<Agent>, AgentError> {
        let mut agents = self.agents();
        Ok(agents.get_mut(&(tenant.to_owned(), agent_id.to_owned())).map(|agent| {
            agent.reported_status.clone_from(&beat.status);
            agent.current_load = beat.current_load;
            at.clone_into(&mut agent.last_heartbeat);
            agent.last_heartbeat_ms = at_ms;
            agent.clone()
        }))
    }

    async fn delete(&self, tenant: &str, agent_id: &str) -> Result<bool, AgentError> {
        Ok(self
            .agents()
            .remove(&(tenant.to_owned(), agent_id.to_owned()))
            .is_some())
    }
}
