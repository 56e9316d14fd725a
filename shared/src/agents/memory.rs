//! In-memory [`AgentStore`] for unit tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::requests::Heartbeat;
use super::store::AgentStore;
use super::{Agent, AgentError};
use crate::keys::{ApiKeyRecord, InMemoryKeyStore, KeyStore, KeyStoreError};

/// Agents by tenant and id; their tokens go to `keys`. `default()` keeps them in a key store of its
/// own, which nothing else sees: a test that reads or deletes tokens uses [`InMemoryAgents::with_keys`].
#[derive(Debug, Default)]
pub struct InMemoryAgents {
    agents: Mutex<BTreeMap<(String, String), Agent>>,
    keys: Arc<InMemoryKeyStore>,
}

impl InMemoryAgents {
    /// Agents whose tokens are kept in `keys` (which the agents' key store is to share).
    #[must_use]
    pub fn with_keys(keys: Arc<InMemoryKeyStore>) -> Self {
        Self {
            agents: Mutex::default(),
            keys,
        }
    }

    fn agents(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Agent>> {
        self.agents.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl AgentStore for InMemoryAgents {
    async fn register(&self, agent: &Agent, token: &ApiKeyRecord) -> Result<(), AgentError> {
        self.keys.create(token).await.map_err(|e| match e {
            KeyStoreError::LimitReached => AgentError::KeysExhausted,
            e => AgentError::Unknown(e.into()),
        })?;
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
        key_id: &str,
        beat: &Heartbeat,
        at: (&str, i64),
    ) -> Result<Agent, AgentError> {
        let mut agents = self.agents();
        let agent = agents
            .get_mut(&(tenant.to_owned(), agent_id.to_owned()))
            .ok_or_else(|| AgentError::NotFound(agent_id.to_owned()))?;
        if agent.key_id != key_id {
            return Err(AgentError::NotThisAgent(agent_id.to_owned()));
        }
        let before = agent.clone();
        *agent = before.beaten(beat, at.0, at.1);
        Ok(before)
    }

    async fn delete(&self, tenant: &str, agent_id: &str) -> Result<bool, AgentError> {
        Ok(self
            .agents()
            .remove(&(tenant.to_owned(), agent_id.to_owned()))
            .is_some())
    }
}
