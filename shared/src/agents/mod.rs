//! Agents: a tenant's processes that register, advertise their capabilities and load, and heartbeat;
//! with pipelines they claim and run stages. An agent registers with an admin's or operator's
//! credentials and gets a token of its own (an API key of role `agent`, bound to it): its heartbeats
//! are taken only with that token.
//!
//! Whether an agent is `active`, `stale` or `inactive` is decided when it is read, from its last
//! heartbeat and [`AgentTimeouts`]; nothing runs when an agent goes quiet.
//!
//! The item is `TENANT#<tenant>` / `AGENT#<agent id>` (see [`crate::dynamodb`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod dynamodb;
pub mod memory;
pub mod requests;
pub mod service;
pub mod store;

/// What kind of agent it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentType {
    Worker,
    Orchestrator,
    Validator,
}

impl AgentType {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Worker => "worker",
            Self::Orchestrator => "orchestrator",
            Self::Validator => "validator",
        }
    }

    /// The type named `text`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Worker, Self::Orchestrator, Self::Validator]
            .into_iter()
            .find(|t| t.as_str() == text)
    }
}

/// Whether an agent is heard from, as its last heartbeat says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Liveness {
    /// Heard from within [`AgentTimeouts::stale_after_secs`]: it gets new work.
    Active,
    /// Quiet longer than that: it gets no new work.
    Stale,
    /// Quiet longer than [`AgentTimeouts::inactive_after_secs`].
    Inactive,
}

impl Liveness {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Stale => "stale",
            Self::Inactive => "inactive",
        }
    }

    /// The liveness named `text`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Active, Self::Stale, Self::Inactive]
            .into_iter()
            .find(|l| l.as_str() == text)
    }
}

/// How long an agent may be quiet before it is `stale`, then `inactive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentTimeouts {
    pub stale_after_secs: i64,
    pub inactive_after_secs: i64,
}

impl Default for AgentTimeouts {
    fn default() -> Self {
        Self {
            stale_after_secs: 60,
            inactive_after_secs: 300,
        }
    }
}

/// A registered agent, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub agent_id: String,
    #[serde(skip)]
    pub tenant: String,
    pub name: String,
    #[serde(rename = "type")]
    pub agent_type: AgentType,
    pub capabilities: Vec<String>,
    /// `task`, `status`, `health` URLs, as the agent gave them (kept for operators; mcpflow never
    /// calls them: agents claim their work).
    pub endpoints: Value,
    /// `cpu`, `memory`, `gpu`, as the agent gave them.
    pub resources: Value,
    /// What the agent last said of itself (`idle`, `busy`, `draining`).
    pub reported_status: String,
    /// 0 to 1, as the agent last said.
    pub current_load: f64,
    pub registered_at: String,
    pub last_heartbeat: String,
    /// When that was, in unix milliseconds.
    #[serde(skip)]
    pub last_heartbeat_ms: i64,
    /// The id of the agent's own API key.
    pub key_id: String,
}

impl Agent {
    /// The agent once `beat` is recorded at `at` (`at_ms`).
    #[must_use]
    pub fn beaten(&self, beat: &requests::Heartbeat, at: &str, at_ms: i64) -> Self {
        Self {
            reported_status: beat.status.clone(),
            current_load: beat.current_load,
            last_heartbeat: at.to_owned(),
            last_heartbeat_ms: at_ms,
            ..self.clone()
        }
    }

    /// Whether `principal` is this agent: its own API key (a JWT whose subject happens to spell the
    /// key id is not it).
    #[must_use]
    pub fn is(&self, principal: &crate::auth::Principal) -> bool {
        principal.method == crate::auth::AuthMethod::ApiKey
            && principal.subject == self.key_id
            && principal.tenant.as_ref() == self.tenant
    }

    /// Its liveness at `now_ms`.
    #[must_use]
    pub fn liveness(&self, timeouts: AgentTimeouts, now_ms: i64) -> Liveness {
        let quiet = now_ms.saturating_sub(self.last_heartbeat_ms);
        if quiet <= timeouts.stale_after_secs * 1000 {
            Liveness::Active
        } else if quiet <= timeouts.inactive_after_secs * 1000 {
            Liveness::Stale
        } else {
            Liveness::Inactive
        }
    }

    /// The agent as the API shows it: its fields and its `status` (liveness) at `now_ms`.
    #[must_use]
    pub fn view(&self, timeouts: AgentTimeouts, now_ms: i64) -> Value {
        let mut view = serde_json::to_value(self).unwrap_or(Value::Null);
        view["status"] = Value::from(self.liveness(timeouts, now_ms).as_str());
        view
    }
}

/// Why an agent operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("agent {0} not found")]
    NotFound(String),
    /// A heartbeat with another principal's credentials than the agent's own token.
    #[error("only agent {0}'s own token may send its heartbeat")]
    NotThisAgent(String),
    /// Its token could not be issued: the tenant holds its most keys.
    #[error("the tenant holds its most API keys; an agent needs one of its own")]
    KeysExhausted,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> AgentError {
    AgentError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests;
