//! `GET /api/v1/summary`: a tenant's counts in one answer — contexts, tasks by status, registered
//! tools, prompts and resources, pipelines, integrations, agents by liveness — read from the counters the writes
//! keep, never by reading the items themselves (but contexts, counted by one `Select: COUNT` query of
//! their listing entries, which have no counter).

use std::future::Future;

use serde::Serialize;
use serde_json::Value;

use crate::agents::{Agent, AgentTimeouts, Liveness};
use crate::tasks::stats::{self, Counters};

pub mod dynamodb;

/// The counts a store keeps for a tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Unexpired contexts.
    pub contexts: u64,
    /// The task counters (`created`, `started`, `completed`, … as [`stats::view`] reads them).
    pub tasks: Counters,
    pub tools: u64,
    pub prompts: u64,
    pub resources: u64,
    pub pipelines: u64,
    pub integrations: u64,
}

/// Port: where a tenant's counts are read.
pub trait CountStore: Send + Sync {
    fn counts(&self, tenant: &str, now_secs: i64) -> impl Future<Output = anyhow::Result<Counts>> + Send;
}

/// Agents by liveness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AgentCounts {
    pub total: usize,
    pub active: usize,
    pub stale: usize,
    pub inactive: usize,
}

impl AgentCounts {
    #[must_use]
    pub fn of(agents: &[Agent], timeouts: AgentTimeouts, now_ms: i64) -> Self {
        let mut counts = Self {
            total: agents.len(),
            ..Self::default()
        };
        for agent in agents {
            match agent.liveness(timeouts, now_ms) {
                Liveness::Active => counts.active += 1,
                Liveness::Stale => counts.stale += 1,
                Liveness::Inactive => counts.inactive += 1,
            }
        }
        counts
    }
}

/// The summary's body: the counts, the agents, and the system's health report as `GET /health` gives it.
#[must_use]
pub fn view(counts: &Counts, agents: AgentCounts, health: Value, at: &str) -> Value {
    serde_json::json!({
        "contexts": counts.contexts,
        "tasks": stats::view(&counts.tasks),
        "registered": {"tools": counts.tools, "prompts": counts.prompts, "resources": counts.resources},
        "pipelines": counts.pipelines,
        "integrations": counts.integrations,
        "agents": agents,
        "health": health,
        "at": at,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn agent(heard_ms: i64) -> Agent {
        let mut a: Agent = serde_json::from_value(json!({"agent_id": "a", "name": "a", "type": "worker",
            "capabilities": [], "endpoints": {}, "resources": {}, "reported_status": "idle", "current_load": 0.0,
            "registered_at": "x", "last_heartbeat": "x", "key_id": "k"}))
        .unwrap();
        a.last_heartbeat_ms = heard_ms;
        a
    }

    #[test]
    fn agents_are_counted_by_their_liveness_now() {
        let timeouts = AgentTimeouts {
            stale_after_secs: 60,
            inactive_after_secs: 300,
        };
        let now = 1_000_000;
        let agents = [
            agent(now),
            agent(now - 10_000),
            agent(now - 61_000),
            agent(now - 301_000),
        ];
        assert_eq!(
            AgentCounts::of(&agents, timeouts, now),
            AgentCounts {
                total: 4,
                active: 2,
                stale: 1,
                inactive: 1
            }
        );
    }

    #[test]
    fn the_view_reads_task_counters_as_statuses() {
        let counts = Counts {
            contexts: 3,
            tasks: [
                ("created".to_owned(), 5),
                ("started".to_owned(), 4),
                ("completed".to_owned(), 3),
            ]
            .into(),
            tools: 2,
            ..Counts::default()
        };
        let v = view(&counts, AgentCounts::default(), json!({"status": "ok"}), "now");
        assert_eq!(v["contexts"], 3);
        assert_eq!(
            v["tasks"]["counts_by_status"],
            json!({"pending": 1, "running": 1, "completed": 3, "failed": 0, "cancelled": 0})
        );
        assert_eq!(v["registered"], json!({"tools": 2, "prompts": 0, "resources": 0}));
        assert_eq!(v["health"]["status"], "ok");
    }
}
