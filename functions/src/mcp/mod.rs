//! The MCP endpoint: an rmcp [`ServerHandler`] over the conversation services, served statelessly
//! with JSON responses by rmcp's Streamable HTTP service inside `lambda_http` (see [`lambda`]).

pub mod access;
pub mod calls;
pub mod lambda;
pub mod legacy_tasks;
pub mod notes;
pub mod prompts;
pub mod registered;
pub mod resources;
pub mod socket;
pub mod tools;
pub mod views;
mod work;

use std::sync::Arc;

use chrono::Utc;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CancelTaskParams, CompleteRequestParams, CompleteResult, CompletionInfo,
    CreateTaskResult, ErrorData, GetPromptRequestParams, GetPromptResponse, GetTaskParams, GetTaskResult,
    Implementation, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::ServerHandler;
use serde_json::{json, Value};
use shared::auth::Principal;
use shared::conversation::errors::ConversationError;
use shared::registered::cache::Cached;
use shared::registered::dynamodb::DynamoDbRegistry;
use shared::registered::endpoint::EndpointPolicy;

use crate::wiring::AwsDeps;

/// What the server needs, built once per cold start.
pub struct McpState {
    pub deps: AwsDeps,
    pub tools: Vec<tools::ToolSpec>,
    /// `data://models/available`.
    pub models: Value,
    /// The tenants' registered tools, prompts and resources.
    pub registry: Cached<DynamoDbRegistry>,
    pub tool_policy: EndpointPolicy,
}

/// The handler rmcp runs for each request (cheap to clone).
#[derive(Clone)]
pub struct McpServer {
    pub state: Arc<McpState>,
}

fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ErrorData> {
    serde_json::from_value(value).map_err(internal)
}

pub(crate) fn internal(e: impl std::fmt::Display) -> ErrorData {
    // `{:#}` shows a wrapped anyhow error's whole chain, the unreachable dependency's marker included.
    let cause = format!("{e:#}");
    if cause.contains(shared::error::UNAVAILABLE_PREFIX) {
        tracing::error!(error = %cause, "mcp request failed: a dependency is unavailable");
        let data =
            json!({"code": "DEPENDENCY_UNAVAILABLE", "retry_after_secs": shared::error::UNAVAILABLE_RETRY_AFTER_SECS});
        return ErrorData::internal_error(shared::error::UNAVAILABLE_MESSAGE, Some(data));
    }
    tracing::error!(error = %cause, "mcp request failed");
    ErrorData::internal_error("mcpflow could not complete the request", None)
}

/// A conversation error as MCP: the caller's mistake says what was wrong; a failure inside mcpflow
/// is logged and answered without its message.
pub(crate) fn conversation_error(e: ConversationError) -> ErrorData {
    match e {
        ConversationError::Unknown(_) => internal(e),
        other => ErrorData::invalid_params(other.to_string(), None),
    }
}

/// The caller, which the Lambda adapter put into the HTTP request before rmcp took it.
fn principal(context: &RequestContext<RoleServer>) -> Result<Principal, ErrorData> {
    context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Principal>())
        .cloned()
        .ok_or_else(|| ErrorData::internal_error("no authenticated principal", None))
}

impl ServerHandler for McpServer {
    #[allow(deprecated)] // logging: see `notes`
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_prompts()
            .enable_completions()
            .enable_logging()
            .enable_tasks()
            .build();
        let mut info = ServerConfig::new(capabilities);
        info.server_info = Implementation::new("mcpflow", env!("CARGO_PKG_VERSION"));
        info.instructions = Some(
            "Hand long-running AI work to mcpflow: create_task queues a prompt, get_task_status and \
             get_task_result follow it; contexts keep conversations."
                .into(),
        );
        info
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let who = principal(&context)?;
        let mut all: Vec<_> = self.state.tools.iter().map(|s| s.tool.clone()).collect();
        all.extend(registered::tools(&self.state, &who).await?);
        let (tools, next) = registered::page(all, request.as_ref().and_then(|r| r.cursor.as_deref()))?;
        let mut result = ListToolsResult::with_all_items(tools);
        result.next_cursor = next;
        Ok(result)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let who = principal(&context)?;
        let args = Value::Object(request.arguments.clone().unwrap_or_default());
        let wants_task = context.client_capabilities().is_some_and(|c| c.supports_tasks());
        let relay = notes::Relay::new(&context, request.meta.as_ref());
        let result = self.run_tool(&who, &request.name, &args, Some(&relay)).await?;
        if wants_task && matches!(request.name.as_ref(), "create_task" | "add_prompt") && result.is_error != Some(true)
        {
            if let Some(id) = result.structured_content.as_ref().and_then(|v| v["task_id"].as_str()) {
                let task = self
                    .state
                    .deps
                    .task(&who, id, Utc::now())
                    .await
                    .map_err(conversation_error)?;
                return Ok(CallToolResponse::Task(CreateTaskResult::new(lambda::mcp_task(&task))));
            }
        }
        Ok(result.into())
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        let who = principal(&context)?;
        access::permit(&who, "tasks/get")?;
        let task = self
            .state
            .deps
            .task(&who, access::task_id(&request.task_id)?, Utc::now())
            .await
            .map_err(conversation_error)?;
        Ok(GetTaskResult::new(lambda::detailed_task(&task)))
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let who = principal(&context)?;
        // The REST twin's permission, before the id is even read; the audit entry is written by
        // the Lambda adapter, which sees every era's `tasks/cancel`.
        access::permit(&who, "tasks/cancel")?;
        let id = access::task_id(&request.task_id)?;
        match self.state.deps.cancel_task(&who, id, Utc::now()).await {
            Ok(_) => Ok(()),
            Err(e) => Err(conversation_error(e)),
        }
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let who = principal(&context)?;
        let mut all = resources::list()["resources"].as_array().cloned().unwrap_or_default();
        all.extend(registered::resources(&self.state, &who).await?);
        let (items, next) = registered::page(all, request.as_ref().and_then(|r| r.cursor.as_deref()))?;
        from_json(json!({"resources": items, "nextCursor": next}))
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let who = principal(&context)?;
        let mut all = resources::templates()["resourceTemplates"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        all.extend(registered::templates(&self.state, &who).await?);
        let (items, next) = registered::page(all, request.as_ref().and_then(|r| r.cursor.as_deref()))?;
        from_json(json!({"resourceTemplates": items, "nextCursor": next}))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let who = principal(&context)?;
        let uri = request.uri.as_str();
        let document = match uri {
            "data://tasks/schema" => Some(resources::task_schema()),
            "data://tasks/statuses" => Some(resources::statuses()),
            "data://models/available" => Some(self.state.models.clone()),
            "data://system/stats" => Some(self.stats(&who).await?),
            other => match resources::task_id(other).and_then(|id| access::task_id(id).ok()) {
                Some(id) => self.state.deps.task(&who, id, Utc::now()).await.ok().map(|t| json!(t)),
                None => None,
            },
        };
        let read = match document {
            Some(doc) => Some(resources::contents(uri, &doc)),
            None => registered::read_resource(&self.state, &who, uri).await?,
        };
        match read {
            Some(read) => Ok(ReadResourceResponse::Complete(from_json(read)?)),
            None => Err(ErrorData::resource_not_found(
                format!("no resource {uri}"),
                Some(json!({"uri": uri})),
            )),
        }
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let who = principal(&context)?;
        let mut all = prompts::list()["prompts"].as_array().cloned().unwrap_or_default();
        all.extend(registered::prompts(&self.state, &who).await?);
        let (items, next) = registered::page(all, request.as_ref().and_then(|r| r.cursor.as_deref()))?;
        from_json(json!({"prompts": items, "nextCursor": next}))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let who = principal(&context)?;
        let args = request.arguments.clone().unwrap_or_default();
        if !prompts::PROMPTS.iter().any(|p| p.0 == request.name) {
            let rendered = registered::get_prompt(&self.state, &who, &request.name, &args).await?;
            let unknown = || ErrorData::invalid_params(format!("unknown prompt {}", request.name), None);
            return Ok(GetPromptResponse::Complete(from_json(rendered.ok_or_else(unknown)?)?));
        }
        prompts::check(&request.name, &args).map_err(|m| ErrorData::invalid_params(m, None))?;
        let tasks = self.prompt_tasks(&who, &args).await?;
        let stats = self.stats(&who).await?;
        let data = prompts::Data {
            tasks: &tasks,
            stats: &stats,
            models: &self.state.models,
        };
        let text = prompts::render(&request.name, &args, &data);
        let description = prompts::PROMPTS
            .iter()
            .find(|p| p.0 == request.name)
            .map_or("", |p| p.1);
        let result = json!({"description": description, "messages": [{"role": "user", "content": {"type": "text", "text": text}}]});
        Ok(GetPromptResponse::Complete(from_json(result)?))
    }

    /// Accepted, but with no session to keep it in it sets nothing: a request's own
    /// `_meta["io.modelcontextprotocol/logLevel"]` sets the level of the log notifications it gets.
    #[allow(deprecated)]
    async fn set_level(
        &self,
        _request: rmcp::model::SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        principal(&context).map(|_| ())
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let who = principal(&context)?;
        let values = self.suggestions(&who, &request).await?;
        let prefix = request.argument.value.as_str();
        let values: Vec<String> = values
            .into_iter()
            .filter(|v| v.starts_with(prefix))
            .take(CompletionInfo::MAX_VALUES)
            .collect();
        let info = CompletionInfo::new(values).map_err(|e| ErrorData::internal_error(e, None))?;
        Ok(CompleteResult::new(info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_inside_mcpflow_is_answered_without_its_message_and_a_callers_mistake_with_it() {
        let inside = conversation_error(ConversationError::Unknown(anyhow::anyhow!(
            "table mcpflow-Table throttled"
        )));
        assert_eq!(inside.code, rmcp::model::ErrorCode::INTERNAL_ERROR);
        assert_eq!(inside.message, "mcpflow could not complete the request");
        let mistake = conversation_error(ConversationError::TaskNotFound("task_1".into()));
        assert_eq!(mistake.code, rmcp::model::ErrorCode::INVALID_PARAMS);
        assert_eq!(mistake.message, "no task task_1");
    }
}
