//! The one permission table: which roles may call which route. A route missing here is denied to
//! everyone, and the authorization matrix test fails for any route of `template.yaml` not listed.

use super::Role;

use Role::{Admin, Agent, Operator, Viewer};

/// `(route key, roles allowed)`. Routes without an authorizer (health) are not listed.
pub const PERMISSIONS: &[(&str, &[Role])] = &[
    ("GET /api/v1/mcp/models", &[Admin, Operator, Agent, Viewer]),
    // Registered tools, prompts and resources (per tenant).
    ("GET /api/v1/tools", &[Admin, Operator, Agent, Viewer]),
    ("POST /api/v1/tools", &[Admin, Operator]),
    ("GET /api/v1/tools/{name}", &[Admin, Operator, Agent, Viewer]),
    ("DELETE /api/v1/tools/{name}", &[Admin, Operator]),
    ("POST /api/v1/tools/{name}/execute", &[Admin, Operator, Agent]),
    ("GET /api/v1/prompts", &[Admin, Operator, Agent, Viewer]),
    ("POST /api/v1/prompts", &[Admin, Operator]),
    ("GET /api/v1/prompts/{name}", &[Admin, Operator, Agent, Viewer]),
    ("DELETE /api/v1/prompts/{name}", &[Admin, Operator]),
    (
        "POST /api/v1/prompts/{name}/generate",
        &[Admin, Operator, Agent, Viewer],
    ),
    ("GET /api/v1/resources", &[Admin, Operator, Agent, Viewer]),
    ("POST /api/v1/resources", &[Admin, Operator]),
    ("GET /api/v1/resources/{uri}", &[Admin, Operator, Agent, Viewer]),
    ("PUT /api/v1/resources/{uri}", &[Admin, Operator]),
    ("DELETE /api/v1/resources/{uri}", &[Admin, Operator]),
    // Any role that may read a resource may watch it (on a connection of its own tenant).
    (
        "POST /api/v1/resources/{uri}/subscribe",
        &[Admin, Operator, Agent, Viewer],
    ),
    // Completions: as a context's prompt and its task's cancel; every role reads them.
    ("POST /api/v1/completions", &[Admin, Operator, Agent]),
    ("POST /api/v1/completions/stream", &[Admin, Operator, Agent]),
    (
        "GET /api/v1/completions/{completionID}",
        &[Admin, Operator, Agent, Viewer],
    ),
    ("DELETE /api/v1/completions/{completionID}", &[Admin, Operator, Agent]),
    // Integrations: admins and operators write them; every role reads them (they hold references to
    // credentials, never credentials).
    ("GET /api/v1/integrations", &[Admin, Operator, Agent, Viewer]),
    ("POST /api/v1/integrations", &[Admin, Operator]),
    (
        "GET /api/v1/integrations/{integrationID}",
        &[Admin, Operator, Agent, Viewer],
    ),
    ("PUT /api/v1/integrations/{integrationID}", &[Admin, Operator]),
    ("DELETE /api/v1/integrations/{integrationID}", &[Admin, Operator]),
    // Agents: admins and operators register and delete them; an agent heartbeats with its own token.
    ("POST /api/v1/agents/register", &[Admin, Operator]),
    ("GET /api/v1/agents", &[Admin, Operator, Agent, Viewer]),
    ("GET /api/v1/agents/{agentID}", &[Admin, Operator, Agent, Viewer]),
    ("DELETE /api/v1/agents/{agentID}", &[Admin, Operator]),
    ("POST /api/v1/agents/{agentID}/heartbeat", &[Agent]),
    // The tenant's summary and metrics: every role reads them (queue depths are for admins only).
    ("GET /api/v1/summary", &[Admin, Operator, Agent, Viewer]),
    ("GET /api/v1/metrics", &[Admin, Operator, Agent, Viewer]),
    // The tenant's events name its callers (key ids, JWT subjects): admins and operators only.
    ("GET /api/v1/logs", &[Admin, Operator]),
    // Pipelines: admins and operators define them; every role reads them.
    ("POST /api/v1/pipelines", &[Admin, Operator]),
    ("GET /api/v1/pipelines", &[Admin, Operator, Agent, Viewer]),
    ("GET /api/v1/pipelines/{pipelineID}", &[Admin, Operator, Agent, Viewer]),
    // Executions: admins and operators start and cancel them; every role reads them.
    ("POST /api/v1/pipelines/{pipelineID}/execute", &[Admin, Operator]),
    (
        "GET /api/v1/pipelines/{pipelineID}/executions",
        &[Admin, Operator, Agent, Viewer],
    ),
    (
        "GET /api/v1/pipelines/{pipelineID}/executions/{executionID}",
        &[Admin, Operator, Agent, Viewer],
    ),
    (
        "POST /api/v1/pipelines/{pipelineID}/executions/{executionID}/cancel",
        &[Admin, Operator],
    ),
    // A stage submitted on its own runs as a one-stage execution: as executing a pipeline.
    ("POST /api/v1/tasks", &[Admin, Operator]),
    // The agent protocol: an agent's own token only (each handler checks it is that agent).
    ("GET /api/v1/agents/{agentID}/tasks/next", &[Agent]),
    ("POST /api/v1/tasks/{taskID}/progress", &[Agent]),
    ("POST /api/v1/tasks/{taskID}/complete", &[Agent]),
    ("POST /api/v1/tasks/{taskID}/fail", &[Agent]),
    // The MCP endpoint: every role may connect; each tool then needs its REST route's roles.
    ("POST /mcp", &[Admin, Operator, Agent, Viewer]),
    ("GET /mcp", &[Admin, Operator, Agent, Viewer]),
    ("DELETE /mcp", &[Admin, Operator, Agent, Viewer]),
    // The WebSocket API: every role may connect.
    ("$connect", &[Admin, Operator, Agent, Viewer]),
    ("POST /api/v1/keys", &[Admin]),
    ("GET /api/v1/keys", &[Admin]),
    ("DELETE /api/v1/keys/{keyID}", &[Admin]),
    ("GET /api/v1/audit", &[Admin]),
    ("POST /api/v1/mcp/contexts", &[Admin, Operator, Agent]),
    (
        "GET /api/v1/mcp/contexts/{contextID}",
        &[Admin, Operator, Agent, Viewer],
    ),
    (
        "POST /api/v1/mcp/contexts/{contextID}/prompt",
        &[Admin, Operator, Agent],
    ),
    ("GET /api/v1/mcp/tasks/{taskID}", &[Admin, Operator, Agent, Viewer]),
    ("GET /api/v1/tasks/{taskID}", &[Admin, Operator, Agent, Viewer]),
    ("POST /api/v1/mcp/contexts/{contextID}/nodes", &[Admin, Operator, Agent]),
    (
        "DELETE /api/v1/mcp/contexts/{contextID}/nodes/{nodeID}",
        &[Admin, Operator, Agent],
    ),
    ("DELETE /api/v1/mcp/contexts/{contextID}", &[Admin, Operator]),
    ("POST /api/v1/mcp/tasks/{taskID}/cancel", &[Admin, Operator, Agent]),
    ("GET /api/v1/mcp/contexts", &[Admin, Operator, Agent, Viewer]),
    ("GET /api/v1/mcp/tasks", &[Admin, Operator, Agent, Viewer]),
];

/// Whether `role` may call the route; unknown routes are denied. A `HEAD` route (each `GET` route
/// that only reads has one: API Gateway routes `HEAD` only to `HEAD` routes) is allowed as its `GET`
/// is.
#[must_use]
pub fn allows(route_key: &str, role: Role) -> bool {
    let route_key = match route_key.strip_prefix("HEAD ") {
        Some(path) => format!("GET {path}"),
        None => route_key.to_owned(),
    };
    PERMISSIONS
        .iter()
        .any(|(key, roles)| *key == route_key && roles.contains(&role))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_manage_keys_and_everyone_reads_models() {
        assert!(allows("POST /api/v1/keys", Admin));
        assert!(!allows("POST /api/v1/keys", Operator));
        assert!(Role::ALL.iter().all(|r| allows("GET /api/v1/mcp/models", *r)));
    }

    #[test]
    fn a_head_route_is_allowed_as_its_get_route_is() {
        assert!(allows("HEAD /api/v1/keys", Admin));
        assert!(!allows("HEAD /api/v1/keys", Operator));
        assert!(Role::ALL.iter().all(|r| allows("HEAD /api/v1/mcp/models", *r)));
        assert!(
            !allows("HEAD /api/v1/tasks", Admin),
            "POST /api/v1/tasks has no HEAD twin"
        );
    }

    #[test]
    fn unknown_routes_are_denied_to_every_role() {
        assert!(Role::ALL.iter().all(|r| !allows("DELETE /api/v1/everything", *r)));
    }
}
