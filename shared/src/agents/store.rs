//! Port: where a tenant's agents are kept.

use std::future::Future;

use super::requests::Heartbeat;
use super::{Agent, AgentError};
use crate::keys::ApiKeyRecord;

/// Port: the agents of every tenant; each method takes the tenant.
pub trait AgentStore: Send + Sync {
    /// Stores a new agent with its token (`token`, an API key counted among the tenant's keys),
    /// both or neither: [`AgentError::KeysExhausted`] when the tenant holds its most keys.
    fn register(&self, agent: &Agent, token: &ApiKeyRecord) -> impl Future<Output = Result<(), AgentError>> + Send;
    fn get(&self, tenant: &str, agent_id: &str) -> impl Future<Output = Result<Option<Agent>, AgentError>> + Send;
    /// Every agent of the tenant (at most one per API key it holds).
    fn list(&self, tenant: &str) -> impl Future<Output = Result<Vec<Agent>, AgentError>> + Send;
    /// Records a heartbeat at `at` (`at_ms`) sent with the API key `key_id`, in one conditional
    /// write; the agent before it. [`AgentError::NotFound`] when there is none,
    /// [`AgentError::NotThisAgent`] when the agent holds another key (nothing is written then).
    fn heartbeat(
        &self,
        tenant: &str,
        agent_id: &str,
        key_id: &str,
        beat: &Heartbeat,
        at: (&str, i64),
    ) -> impl Future<Output = Result<Agent, AgentError>> + Send;
    /// `false` when there was none.
    fn delete(&self, tenant: &str, agent_id: &str) -> impl Future<Output = Result<bool, AgentError>> + Send;
}
