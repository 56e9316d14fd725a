//! The server's own work behind the handler: running a tool (schema, role, call), and reading the
//! data prompts and completions render (counters, recent tasks, suggestions).

use chrono::Utc;
use rmcp::model::{CallToolResult, CompleteRequestParams, ErrorData};
use serde_json::{json, Value};
use shared::auth::permissions::allows;
use shared::auth::Principal;
use shared::ids::IdKind;
use shared::tasks::listing::TaskFilter;
use shared::tasks::stats;
use shared::tasks::stats::TaskStats;

use super::notes::Relay;
use super::{calls, internal, prompts, registered, tools, views, McpServer};

/// An unknown tool, named as far as a tool name can go (64 characters): never all of an over-long one.
fn unknown_tool(name: &str) -> ErrorData {
    let shown: String = name.chars().take(64).collect();
    let more = if shown.len() < name.len() { "…" } else { "" };
    ErrorData::invalid_params(format!("unknown tool {shown}{more}"), None)
}

impl McpServer {
    pub(super) fn spec(&self, name: &str) -> Result<&tools::ToolSpec, ErrorData> {
        self.state
            .tools
            .iter()
            .find(|s| s.tool.name == name)
            .ok_or_else(|| unknown_tool(name))
    }

    /// Runs a tool: role check (its REST twin's route), schema check, the call; failures a model can
    /// act on are `isError`. A registered tool's notifications go through `relay` (dropped without).
    pub(crate) async fn run_tool(
        &self,
        who: &Principal,
        name: &str,
        args: &Value,
        relay: Option<&Relay>,
    ) -> Result<CallToolResult, ErrorData> {
        if self.spec(name).is_err() {
            if !allows("POST /api/v1/tools/{name}/execute", who.role) {
                let text = format!("role {} may not call registered tools", who.role);
                return Ok(CallToolResult::error(vec![rmcp::model::ContentBlock::text(text)]));
            }
            return registered::call_tool(&self.state, who, name, args, relay)
                .await?
                .ok_or_else(|| unknown_tool(name));
        }
        let spec = self.spec(name)?;
        // The role first, as the authorizer does for REST: a refused caller learns nothing more.
        if !allows(spec.route, who.role) {
            let text = format!("role {} may not call {name}", who.role);
            return Ok(CallToolResult::error(vec![rmcp::model::ContentBlock::text(text)]));
        }
        if let Some(problems) = tools::violations(spec, args) {
            return Ok(CallToolResult::error(vec![rmcp::model::ContentBlock::text(format!(
                "invalid arguments for {name}: {problems}"
            ))]));
        }
        match calls::call(&self.state.deps, who, name, args, Utc::now()).await {
            Ok(value) => Ok(CallToolResult::structured(value)),
            Err(calls::ToolFailure(message)) => Ok(CallToolResult::structured_error(json!({"error": message}))),
        }
    }

    pub(super) async fn stats(&self, who: &Principal) -> Result<Value, ErrorData> {
        Ok(stats::view(
            &self.state.deps.tasks.stats(&who.tenant).await.map_err(internal)?,
        ))
    }

    pub(super) async fn recent_tasks(
        &self,
        who: &Principal,
        filter: &TaskFilter,
    ) -> Result<Vec<shared::tasks::model::Task>, ErrorData> {
        let page = self
            .state
            .deps
            .list_tasks(who, filter, 100, None, Utc::now().timestamp())
            .await
            .map_err(internal)?;
        Ok(page.items)
    }
}

impl McpServer {
    /// The tasks a prompt covers: the ids given, else the newest ones (by status when given).
    pub(super) async fn prompt_tasks(
        &self,
        who: &Principal,
        args: &serde_json::Map<String, Value>,
    ) -> Result<Vec<shared::tasks::model::Task>, ErrorData> {
        if let Some(ids) = args.get("task_ids").and_then(Value::as_str) {
            let mut tasks = Vec::new();
            let ids = ids.split(',').map(str::trim).filter(|i| IdKind::Task.matches(i));
            for id in ids.take(50) {
                if let Ok(t) = self.state.deps.task(who, id, Utc::now()).await {
                    tasks.push(t);
                }
            }
            return Ok(tasks);
        }
        let status = ["status_filter", "task_group"]
            .iter()
            .find_map(|k| args.get(*k).and_then(Value::as_str).and_then(views::status_from_name));
        let task_type = args
            .get("task_group")
            .and_then(|g| serde_json::from_value(g.clone()).ok());
        let filter = TaskFilter {
            status,
            task_type,
            ..TaskFilter::default()
        };
        let mut tasks = self.recent_tasks(who, &filter).await?;
        if let Some((from, to)) = args
            .get("date_range")
            .and_then(Value::as_str)
            .and_then(|r| r.split_once(".."))
        {
            tasks.retain(|t| t.created_at.as_str() >= from && &t.created_at[..10.min(t.created_at.len())] <= to);
        }
        tasks.truncate(20);
        Ok(tasks)
    }

    /// Values for a prompt argument (a registered prompt's are its argument's `values`) or the task
    /// template's `task_id`.
    pub(super) async fn suggestions(
        &self,
        who: &Principal,
        request: &CompleteRequestParams,
    ) -> Result<Vec<String>, ErrorData> {
        let argument = request.argument.name.as_str();
        let reference = serde_json::to_value(&request.r#ref).unwrap_or_default();
        let prompt = reference["name"].as_str().unwrap_or_default();
        let registered = reference["type"] == "ref/prompt" && !prompts::PROMPTS.iter().any(|p| p.0 == prompt);
        if registered {
            return registered::argument_values(&self.state, who, prompt, argument).await;
        }
        let fixed = prompts::allowed(prompt, argument);
        if !fixed.is_empty() {
            return Ok(fixed.iter().map(|v| (*v).to_owned()).collect());
        }
        match argument {
            "task_id" | "task_ids" => Ok(self
                .recent_tasks(who, &TaskFilter::default())
                .await?
                .into_iter()
                .map(|t| t.task_id)
                .collect()),
            "task_group" => Ok([
                "ai.completion",
                "mcp.add_prompt",
                "mcp.create_context",
                "COMPLETED",
                "FAILED",
                "PENDING",
                "PROCESSING",
                "CANCELLED",
            ]
            .iter()
            .map(|v| (*v).to_owned())
            .collect()),
            "model" | "model_id" => Ok(self.state.deps.providers.available_models()),
            _ => Ok(Vec::new()),
        }
    }
}
