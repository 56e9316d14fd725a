//! The MCP endpoint's tools over the WebSocket API (`tools/list`, `tools/call`): the same tools, role
//! and schema checks, and, for a tool that changes something, the same audit entry as over MCP
//! (action `$default`, the WebSocket route, target `tools/call <name>`).

use serde_json::{json, Value};
use shared::audit::{AuditEntry, AuditLog, Outcome};
use shared::auth::Principal;

use super::{access, registered, McpServer};
use crate::audit::AuditDeps;
use crate::websocket::McpTools;

/// The MCP server's tools, and where their mutations are audited.
pub struct SocketTools<A> {
    pub server: McpServer,
    pub audit: AuditDeps<A>,
}

impl<A: AuditLog> McpTools for SocketTools<A> {
    async fn list(&self, who: &Principal) -> anyhow::Result<Vec<Value>> {
        let state = &self.server.state;
        let mut all: Vec<Value> = Vec::new();
        for tool in state.tools.iter().map(|s| &s.tool) {
            all.push(serde_json::to_value(tool)?);
        }
        let registered = registered::tools(state, who)
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        for tool in registered {
            all.push(serde_json::to_value(tool)?);
        }
        Ok(all)
    }

    async fn call(
        &self,
        who: &Principal,
        name: &str,
        args: &Value,
        request_id: &str,
    ) -> anyhow::Result<Result<Value, String>> {
        let outcome = match self.server.run_tool(who, name, args, None).await {
            Ok(result) => Ok(serde_json::to_value(result)?),
            // The caller's mistake (an unknown tool); a failure inside is logged by `internal`.
            Err(e) if e.code == rmcp::model::ErrorCode::INVALID_PARAMS => Err(e.message.to_string()),
            Err(e) => return Err(anyhow::anyhow!(e.message)),
        };
        let asked = json!({"method": "tools/call", "params": {"name": name}});
        if let Some(mutation) = access::mutation(&self.server.state.tools, &asked) {
            let answer = match &outcome {
                Ok(result) => json!({"result": result}),
                Err(message) => json!({"error": message}),
            };
            let status = access::audited_status(who, &mutation, 200, &answer);
            let now = chrono::Utc::now();
            let entry = AuditEntry {
                tenant: who.tenant.to_string(),
                subject: who.subject.clone(),
                action: "$default".into(),
                target: Some(mutation.target),
                outcome: Outcome::from_status(status),
                status,
                request_id: request_id.to_owned(),
                at: now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                expires_at: now.timestamp() + i64::from(self.audit.ttl_days) * 86_400,
            };
            if let Err(err) = self.audit.log.record(&entry).await {
                tracing::error!(error = %err, request_id, "audit entry not written");
            }
        }
        Ok(outcome)
    }
}
