//! Request validation: every field's type, size and enum, named in the error.

use serde_json::{Map, Value};

use crate::contexts::model::ContentType;

use crate::tasks::model::parse_priority;
/// Limits on what a request may carry and what a user may keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Nodes a create may carry: with the context, its listing entry, its owner's quota, the task
    /// that records the creation and the tenant's task counters, one DynamoDB transaction (100 items).
    pub max_nodes: usize,
    /// Nodes ever appended to one context (deleting a node does not give its number back).
    pub max_nodes_per_context: u64,
    /// Live contexts per authenticated principal (API key or JWT subject; `user_id` is only recorded).
    pub max_contexts_per_user: usize,
    pub max_node_bytes: usize,
    pub max_prompt_bytes: usize,
    /// Bytes of node content one context may hold in all (a prompt counts its own bytes plus
    /// [`REPLY_ALLOWANCE_BYTES`] for its reply): what the worker reads and a provider is sent.
    pub max_context_bytes: u64,
    /// Characters of a standalone task's prompt (MCP `create_task`).
    pub max_task_prompt_chars: usize,
    pub max_metadata_bytes: usize,
    pub context_ttl_secs: i64,
    /// How long a task is kept after its creation (its `expires_at`, DynamoDB's TTL attribute).
    pub task_retention_secs: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_nodes: 95,
            max_nodes_per_context: 1000,
            max_contexts_per_user: 100,
            max_node_bytes: 32 * 1024,
            max_prompt_bytes: 32 * 1024,
            max_context_bytes: 4 * 1024 * 1024,
            max_task_prompt_chars: 1000,
            max_metadata_bytes: 4 * 1024,
            context_ttl_secs: 7 * 24 * 3600,
            task_retention_secs: 30 * 24 * 3600,
        }
    }
}

/// Content bytes a prompt reserves for its reply (replies are at most 1,024 tokens).
pub const REPLY_ALLOWANCE_BYTES: u64 = 16 * 1024;

/// A field that is wrong, and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// A node as a request gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeInput {
    pub content: String,
    pub content_type: ContentType,
    pub metadata: Map<String, Value>,
}

/// `POST /contexts`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateContext {
    pub model_id: Option<String>,
    pub nodes: Vec<NodeInput>,
    pub metadata: Map<String, Value>,
    pub return_context: bool,
    pub user_id: Option<String>,
    pub priority: u8,
}

/// `POST /contexts/{id}/prompt`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub prompt: String,
    /// Stream the reply to the WebSocket subscribers of the task and its context as it arrives.
    pub stream: bool,
    pub metadata: Map<String, Value>,
    pub user_id: Option<String>,
    pub priority: u8,
}

fn object(body: &Value) -> Result<&Map<String, Value>, Invalid> {
    body.as_object().ok_or_else(|| invalid("body", "must be a JSON object"))
}

fn known(obj: &Map<String, Value>, fields: &[&str]) -> Result<(), Invalid> {
    match obj.keys().find(|k| !fields.contains(&k.as_str())) {
        Some(k) => Err(invalid(
            k.as_str(),
            format!("unknown field; expected one of {}", fields.join(", ")),
        )),
        None => Ok(()),
    }
}

fn opt_string(obj: &Map<String, Value>, field: &str, max: usize) -> Result<Option<String>, Invalid> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= max => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(invalid(field, format!("must be 1 to {max} bytes"))),
        Some(_) => Err(invalid(field, "must be a string")),
    }
}

fn metadata(obj: &Map<String, Value>, field: &str, limits: &Limits) -> Result<Map<String, Value>, Invalid> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) if Value::Object(m.clone()).to_string().len() <= limits.max_metadata_bytes => {
            Ok(m.clone())
        }
        Some(Value::Object(_)) => Err(invalid(
            field,
            format!("must be at most {} bytes of JSON", limits.max_metadata_bytes),
        )),
        Some(_) => Err(invalid(field, "must be an object")),
    }
}

fn node(value: &Value, index: usize, limits: &Limits) -> Result<NodeInput, Invalid> {
    let at = |f: &str| format!("nodes[{index}].{f}");
    let obj = value
        .as_object()
        .ok_or_else(|| invalid(format!("nodes[{index}]"), "must be an object"))?;
    known(obj, &["content", "content_type", "metadata"]).map_err(|e| invalid(at(&e.field), e.message))?;
    let content = match obj.get("content") {
        Some(Value::String(s)) if s.len() <= limits.max_node_bytes => s.clone(),
        Some(Value::String(_)) => {
            return Err(invalid(
                at("content"),
                format!("must be at most {} bytes", limits.max_node_bytes),
            ))
        }
        _ => return Err(invalid(at("content"), "is required and must be a string")),
    };
    let content_type = match obj.get("content_type").and_then(Value::as_str) {
        None | Some("text") if obj.get("content_type").is_none_or(Value::is_string) => ContentType::Text,
        Some("json") if serde_json::from_str::<Value>(&content).is_ok() => ContentType::Json,
        Some("json") => return Err(invalid(at("content"), "must be valid JSON when content_type is json")),
        _ => return Err(invalid(at("content_type"), "must be text or json")),
    };
    let metadata = metadata(obj, "metadata", limits).map_err(|e| invalid(at(&e.field), e.message))?;
    match metadata.get("role").and_then(Value::as_str) {
        None | Some("system" | "user" | "assistant" | "tool") if metadata.get("role").is_none_or(Value::is_string) => {}
        _ => return Err(invalid(at("metadata.role"), "must be system, user, assistant or tool")),
    }
    Ok(NodeInput {
        content,
        content_type,
        metadata,
    })
}

/// Validates a create-context body.
///
/// # Errors
/// [`Invalid`] naming the first wrong field.
pub fn create_context(body: &Value, limits: &Limits) -> Result<CreateContext, Invalid> {
    let obj = object(body)?;
    known(
        obj,
        &["model_id", "nodes", "metadata", "return_context", "user_id", "priority"],
    )?;
    let nodes = match obj.get("nodes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.len() <= limits.max_nodes => a
            .iter()
            .enumerate()
            .map(|(i, n)| node(n, i, limits))
            .collect::<Result<_, _>>()?,
        Some(Value::Array(_)) => return Err(invalid("nodes", format!("at most {} nodes", limits.max_nodes))),
        Some(_) => return Err(invalid("nodes", "must be an array")),
    };
    let return_context = match obj.get("return_context") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("return_context", "must be true or false")),
    };
    Ok(CreateContext {
        model_id: opt_string(obj, "model_id", 128)?,
        nodes,
        metadata: metadata(obj, "metadata", limits)?,
        return_context,
        user_id: opt_string(obj, "user_id", 128)?,
        priority: parse_priority(obj.get("priority")).map_err(|m| invalid("priority", m))?,
    })
}

/// Validates a prompt body.
///
/// # Errors
/// [`Invalid`] naming the first wrong field.
pub fn prompt(body: &Value, limits: &Limits) -> Result<Prompt, Invalid> {
    let obj = object(body)?;
    known(obj, &["prompt", "metadata", "stream", "user_id", "priority"])?;
    let prompt = match obj.get("prompt") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= limits.max_prompt_bytes => s.clone(),
        Some(Value::String(_)) => {
            return Err(invalid(
                "prompt",
                format!("must be 1 to {} bytes", limits.max_prompt_bytes),
            ))
        }
        _ => return Err(invalid("prompt", "is required and must be a string")),
    };
    if obj.get("stream").is_some_and(|s| !s.is_boolean() && !s.is_null()) {
        return Err(invalid("stream", "must be true or false"));
    }
    Ok(Prompt {
        prompt,
        stream: obj.get("stream").and_then(Value::as_bool).unwrap_or(false),
        metadata: metadata(obj, "metadata", limits)?,
        user_id: opt_string(obj, "user_id", 128)?,
        priority: parse_priority(obj.get("priority")).map_err(|m| invalid("priority", m))?,
    })
}

#[cfg(test)]
mod tests;
