//! Completions (`/api/v1/completions`): an AI task with no context, asked as a prompt or as a list of
//! messages, queued by priority and answered by the worker like a context's prompt (the same
//! provider chain, retries, fallbacks, deadline and cancel), its reply, usage and timings kept on the
//! task. A completion's id is its task's id. It may offer the model registered tools ([`tools`]).

pub mod tools;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::auth::Principal;
use crate::contexts::requests::Invalid;
use crate::contexts::store::ContextStore;
use crate::conversation::errors::ConversationError;
use crate::conversation::service::Deps;
use crate::ids::IdKind;
use crate::integrations::{CredentialRef, Integration};
use crate::providers::registry::Direct;
use crate::providers::{Message, Role};
use crate::tasks::model::{parse_priority, IntegrationCall, Task};
use crate::tasks::store::{TaskQueue, TaskStore};

/// Messages a completion may carry.
pub const MAX_MESSAGES: usize = 64;
/// The longest a `"wait": true` request waits for its completion to finish, under API Gateway's 30 s.
pub const WAIT_SECS: u64 = 25;

/// A checked `POST /api/v1/completions` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionRequest {
    pub messages: Vec<Message>,
    /// `None`: the catalog's default model (or the integration's).
    pub model_id: Option<String>,
    /// Ask with this integration's model configuration instead of a catalog model.
    pub integration_id: Option<String>,
    pub priority: u8,
    /// Stream the reply to the task's WebSocket subscribers as it comes (`completion_chunk`).
    pub stream: bool,
    /// Answer the finished completion when it finishes within [`WAIT_SECS`].
    pub wait: bool,
    /// Registered tools offered to the model (at most [`tools::MAX_TOOLS`], each once).
    pub tools: Vec<String>,
}

fn invalid(field: &str, message: impl Into<String>) -> ConversationError {
    ConversationError::Invalid(Invalid {
        field: field.to_owned(),
        message: message.into(),
    })
}

fn flag(obj: &Map<String, Value>, name: &str) -> Result<bool, ConversationError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid(name, "must be true or false")),
    }
}

fn messages(value: &Value, max_bytes: usize) -> Result<Vec<Message>, ConversationError> {
    let Some(list) = value.as_array().filter(|l| (1..=MAX_MESSAGES).contains(&l.len())) else {
        return Err(invalid(
            "messages",
            format!("must be a list of 1 to {MAX_MESSAGES} messages"),
        ));
    };
    let mut out = Vec::with_capacity(list.len());
    let mut bytes = 0;
    for (i, m) in list.iter().enumerate() {
        let field = format!("messages[{i}]");
        let obj = m
            .as_object()
            .filter(|o| o.keys().all(|k| k == "role" || k == "content"))
            .ok_or_else(|| invalid(&field, "must be {\"role\": …, \"content\": …}"))?;
        let role = match obj.get("role").and_then(Value::as_str) {
            Some("system") => Role::System,
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            _ => return Err(invalid(&format!("{field}.role"), "must be system, user or assistant")),
        };
        let content = obj
            .get("content")
            .and_then(Value::as_str)
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| invalid(&format!("{field}.content"), "must be a string that is not blank"))?;
        bytes += content.len();
        out.push(Message {
            role,
            content: content.to_owned(),
        });
    }
    if bytes > max_bytes {
        return Err(invalid(
            "messages",
            format!("hold {bytes} bytes of content; at most {max_bytes}"),
        ));
    }
    if out.last().map(|m| m.role) != Some(Role::User) {
        return Err(invalid("messages", "the last message must be the user's"));
    }
    Ok(out)
}

/// Reads a `POST /api/v1/completions` body: `prompt` or `messages` (one of them), optional
/// `model_id` or `integration_id`, `priority`, `stream` and `wait`. Content is at most `max_bytes` in all.
///
/// # Errors
/// [`ConversationError::Invalid`] naming the first wrong field.
pub fn parse(body: &Value, max_bytes: usize) -> Result<CompletionRequest, ConversationError> {
    let obj = body
        .as_object()
        .ok_or_else(|| invalid("body", "must be a JSON object"))?;
    let known = [
        "prompt",
        "messages",
        "model_id",
        "integration_id",
        "priority",
        "stream",
        "wait",
        "tools",
    ];
    if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(invalid(
            k,
            format!("unknown field; expected one of {}", known.join(", ")),
        ));
    }
    let messages = match (obj.get("prompt"), obj.get("messages")) {
        (Some(prompt), None) => {
            let prompt = prompt
                .as_str()
                .filter(|p| !p.trim().is_empty())
                .ok_or_else(|| invalid("prompt", "must be a string that is not blank"))?;
            if prompt.len() > max_bytes {
                return Err(invalid(
                    "prompt",
                    format!("is {} bytes; at most {max_bytes}", prompt.len()),
                ));
            }
            vec![Message {
                role: Role::User,
                content: prompt.to_owned(),
            }]
        }
        (None, Some(list)) => messages(list, max_bytes)?,
        _ => return Err(invalid("prompt", "send a prompt or messages, one of them")),
    };
    let model_id = match obj.get("model_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .filter(|m| (1..=128).contains(&m.len()))
                .ok_or_else(|| invalid("model_id", "must be a model id of 1 to 128 bytes"))?
                .to_owned(),
        ),
    };
    let integration_id = match obj.get("integration_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .filter(|id| IdKind::Integration.matches(id))
                .ok_or_else(|| invalid("integration_id", IdKind::Integration.shape()))?
                .to_owned(),
        ),
    };
    if model_id.is_some() && integration_id.is_some() {
        return Err(invalid("model_id", "send a model_id or an integration_id, not both"));
    }
    Ok(CompletionRequest {
        messages,
        model_id,
        integration_id,
        priority: parse_priority(obj.get("priority")).map_err(|m| invalid("priority", m))?,
        stream: flag(obj, "stream")?,
        wait: flag(obj, "wait")?,
        tools: tool_names(obj.get("tools"))?,
    })
}

/// `tools`: 1 to [`tools::MAX_TOOLS`] distinct names of registered tools.
fn tool_names(value: Option<&Value>) -> Result<Vec<String>, ConversationError> {
    let list = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) if (1..=tools::MAX_TOOLS).contains(&list.len()) => list,
        Some(_) => {
            return Err(invalid(
                "tools",
                format!("must be a list of 1 to {} registered tool names", tools::MAX_TOOLS),
            ))
        }
    };
    let mut names: Vec<String> = Vec::with_capacity(list.len());
    for (i, name) in list.iter().enumerate() {
        let name = name
            .as_str()
            .filter(|n| crate::registered::validate::is_name(n))
            .ok_or_else(|| {
                invalid(
                    &format!("tools[{i}]"),
                    "must be a tool name: 1 to 64 letters, digits, _ or -",
                )
            })?;
        if names.iter().any(|n| n == name) {
            return Err(invalid(&format!("tools[{i}]"), format!("{name} is named twice")));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

impl<C: ContextStore, T: TaskStore, Q: TaskQueue> Deps<C, T, Q> {
    /// Records a pending completion and queues it.
    ///
    /// # Errors
    /// [`ConversationError`] for an unknown model, or a store or queue failure.
    pub async fn create_completion(
        &self,
        principal: &Principal,
        request: CompletionRequest,
        integration: Option<&Integration>,
        now: DateTime<Utc>,
    ) -> Result<Task, ConversationError> {
        let (integration, model_id) = self.completion_model(request.model_id.clone(), integration)?;
        self.check_tools(principal, &request.tools).await?;
        self.queue_completion(principal, request.priority, now, |record| {
            record.requested_provider = integration.as_ref().map(|call| call.provider.clone());
            (record.integration, record.model_id) = (integration, model_id);
            (record.messages, record.stream) = (Some(request.messages), request.stream);
            record.tools = request.tools;
        })
        .await
    }

    /// Records a completion to be streamed by the caller and takes it (its lease is `lease_ms`): the
    /// caller runs it with [`Deps::process_started`]; should the caller die, the outbox sweep queues
    /// it for the worker once the lease has run out. `None` when something else took it first.
    ///
    /// # Errors
    /// [`ConversationError`] for an unknown model, or a store failure.
    pub async fn start_completion(
        &self,
        principal: &Principal,
        request: CompletionRequest,
        integration: Option<&Integration>,
        (now, lease_ms): (DateTime<Utc>, i64),
    ) -> Result<Option<Task>, ConversationError> {
        let (integration, model_id) = self.completion_model(request.model_id.clone(), integration)?;
        self.check_tools(principal, &request.tools).await?;
        self.take_completion(principal, request.priority, (now, lease_ms), |record| {
            record.requested_provider = integration.as_ref().map(|call| call.provider.clone());
            (record.integration, record.model_id) = (integration, model_id);
            (record.messages, record.stream) = (Some(request.messages), true);
            record.tools = request.tools;
        })
        .await
    }

    /// Checks the tools a completion offers are the caller's registered tools.
    async fn check_tools(&self, principal: &Principal, names: &[String]) -> Result<(), ConversationError> {
        if names.is_empty() {
            return Ok(());
        }
        let Some(toolbox) = &self.tool_specs else {
            return Err(invalid("tools", "this endpoint offers no tools"));
        };
        match toolbox.specs(&principal.tenant, names).await {
            Ok(_) => Ok(()),
            Err(tools::ToolsError::NotRegistered(name)) => {
                let i = names.iter().position(|n| *n == name).unwrap_or_default();
                Err(invalid(&format!("tools[{i}]"), format!("no registered tool {name}")))
            }
            Err(tools::ToolsError::Store(e)) => Err(ConversationError::Unknown(e)),
        }
    }

    /// What a completion asks: an integration's model configuration, or a catalog model (the
    /// request's, else the default).
    fn completion_model(
        &self,
        model_id: Option<String>,
        integration: Option<&Integration>,
    ) -> Result<(Option<IntegrationCall>, Option<String>), ConversationError> {
        Ok(match integration {
            Some(integration) => {
                let call = integration_call(integration)?;
                let sampling = call.sampling();
                // A secret's key is read by the worker: here a stand-in checks the provider takes one.
                let unread = crate::secret::Secret::new(String::new());
                let direct = Direct {
                    provider: &call.provider,
                    provider_model: &call.provider_model,
                    credential_env: call.credential_env.as_deref(),
                    credential_key: call.credential_secret.as_ref().map(|_| &unread),
                    sampling: &sampling,
                };
                self.providers
                    .direct_client(&direct)
                    .map_err(|why| invalid("integration_id", format!("{}: {why}", integration.integration_id)))?;
                (Some(call), None)
            }
            None => {
                let model_id = model_id.unwrap_or_else(|| self.default_model.clone());
                self.check_model(&model_id)?;
                (None, Some(model_id))
            }
        })
    }
}

/// What a completion through `integration` runs with.
///
/// # Errors
/// [`ConversationError::Invalid`] for a credential secret that is not the tenant's own (one stored
/// before the rule).
fn integration_call(integration: &Integration) -> Result<IntegrationCall, ConversationError> {
    let model = &integration.spec.model;
    let (credential_env, credential_secret) = match &model.credential {
        None => (None, None),
        Some(CredentialRef::Env(env)) => (Some(env.clone()), None),
        Some(CredentialRef::SecretArn(arn)) if crate::integrations::owns_secret(&integration.tenant, arn) => {
            (None, Some(arn.clone()))
        }
        Some(CredentialRef::SecretArn(_)) => {
            return Err(invalid(
                "integration_id",
                format!(
                    "{}: its credential secret is not under {}",
                    integration.integration_id,
                    crate::integrations::tenant_secret_prefix(&integration.tenant)
                ),
            ))
        }
    };
    Ok(IntegrationCall {
        integration_id: integration.integration_id.clone(),
        provider: model.provider.clone(),
        provider_model: model.provider_model.clone(),
        max_tokens: model.parameters.max_tokens,
        temperature: model.parameters.temperature,
        top_p: model.parameters.top_p,
        stop: model.parameters.stop.clone(),
        credential_env,
        credential_secret,
    })
}

/// Milliseconds between two of a task's timestamps, when both are there.
fn between(from: Option<&str>, to: Option<&str>) -> Option<i64> {
    let parse = |s: &str| DateTime::parse_from_rfc3339(s).ok();
    Some((parse(to?)? - parse(from?)?).num_milliseconds())
}

/// A completion as the API shows it.
#[must_use]
pub fn view(task: &Task) -> Value {
    let created = Some(task.created_at.as_str());
    let (started, finished) = (task.started_at.as_deref(), task.finished_at.as_deref());
    let error = task
        .error_code
        .as_ref()
        .map(|code| json!({"code": code, "message": task.error}));
    json!({
        "completion_id": task.task_id,
        "status": task.status.as_str(),
        "model_id": task.model_id,
        "integration_id": task.integration.as_ref().map(|call| call.integration_id.as_str()),
        "provider": task.provider,
        "model": task.model,
        "result": task.output,
        "usage": task.usage,
        "error": error,
        "attempts": task.attempts,
        "tools": task.tools,
        "tool_rounds": task.tool_rounds,
        "timings": {
            "created_at": task.created_at,
            "started_at": started,
            "finished_at": finished,
            "queued_ms": between(created, started),
            "run_ms": between(started, finished),
            "total_ms": between(created, finished),
        },
    })
}

#[cfg(test)]
mod tests;
