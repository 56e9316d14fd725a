//! The built-in tools: their schemas (input and output), who may call them, and what they do —
//! thin adapters over the same services as the REST API.

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{json, Value};
use shared::contexts::requests::Limits;
/// One built-in tool: its definition, its compiled input schema, and the REST route whose
/// permission it shares.
pub struct ToolSpec {
    pub tool: Tool,
    pub validator: jsonschema::Validator,
    pub route: &'static str,
}

fn object(value: Value) -> Arc<JsonObject> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

fn task_id_input() -> Value {
    json!({"type": "object", "properties": {"task_id": {"type": "string", "minLength": 1, "maxLength": 128,
        "description": "The id create_task or add_prompt returned"}}, "required": ["task_id"],
        "additionalProperties": false})
}

fn context_id_input() -> Value {
    json!({"type": "object", "properties": {"context_id": {"type": "string", "minLength": 1, "maxLength": 128}},
        "required": ["context_id"], "additionalProperties": false})
}

const STATUSES: [&str; 5] = ["PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"];

fn task_ref_output() -> Value {
    json!({"type": "object", "properties": {"task_id": {"type": "string"}, "status": {"enum": STATUSES}},
        "required": ["task_id", "status"]})
}

fn status_output() -> Value {
    let text = json!({"type": ["string", "null"]});
    let number = json!({"type": ["integer", "null"]});
    json!({"type": "object", "required": ["task_id", "status", "type", "created_at"], "properties": {
        "task_id": {"type": "string"}, "type": {"type": "string"}, "status": {"enum": STATUSES},
        "priority": {"type": "integer"}, "created_at": {"type": "string"}, "started_at": text,
        "finished_at": text, "attempts": {"type": "integer"}, "processing_time_ms": number,
        "elapsed_ms": number, "provider": text, "model": text, "error": text}})
}

fn context_output() -> Value {
    json!({"type": "object", "required": ["context_id", "model_id", "nodes"], "properties": {
        "context_id": {"type": "string"}, "model_id": {"type": "string"}, "created_at": {"type": "string"},
        "updated_at": {"type": "string"}, "expires_at": {"type": "integer"}, "metadata": {"type": "object"},
        "nodes": {"type": "array", "items": {"type": "object"}}}})
}

fn create_task_input(limits: &Limits, models: &[String], default_model: &str) -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["prompt"], "properties": {
        "prompt": {"type": "string", "minLength": 1, "maxLength": limits.max_task_prompt_chars,
            "description": "What the model should answer"},
        "model": {"type": "string", "enum": models, "default": default_model},
        "priority": {"type": "integer", "minimum": 1, "maximum": 10, "default": 5,
            "description": "1-3 low, 4-7 medium, 8-10 high"},
        "provider": {"type": "string", "description": "Only if the model's chain includes this provider"}}})
}

fn list_tasks_input() -> Value {
    json!({"type": "object", "additionalProperties": false, "properties": {
        "status": {"enum": STATUSES}, "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
        "offset": {"type": "integer", "minimum": 0, "maximum": 1000, "default": 0},
        "cursor": {"type": "string", "description": "next_cursor of an earlier page (instead of offset)"}}})
}

fn list_tasks_output() -> Value {
    json!({"type": "object", "required": ["tasks"], "properties": {
        "tasks": {"type": "array", "items": {"type": "object"}}, "next_cursor": {"type": ["string", "null"]},
        "next_offset": {"type": ["integer", "null"]}}})
}

fn result_output() -> Value {
    json!({"type": "object", "required": ["task_id", "status", "result"], "properties": {
        "task_id": {"type": "string"}, "status": {"enum": STATUSES}, "result": {"type": "string"},
        "processing_time_ms": {"type": ["integer", "null"]}, "provider": {"type": ["string", "null"]},
        "model": {"type": ["string", "null"]}, "usage": {"type": ["object", "null"]}}})
}

fn create_context_input(models: &[String]) -> Value {
    json!({"type": "object", "additionalProperties": false, "properties": {
        "model_id": {"type": "string", "enum": models},
        "system_prompt": {"type": "string", "minLength": 1, "description": "Becomes the context's system node"},
        "user_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "metadata": {"type": "object"}}})
}

fn add_prompt_input(limits: &Limits) -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["context_id", "prompt"], "properties": {
        "context_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "prompt": {"type": "string", "minLength": 1, "maxLength": limits.max_prompt_bytes},
        "priority": {"type": "integer", "minimum": 1, "maximum": 10, "default": 5}}})
}

/// `(name, title, description, input, output, REST route whose permission applies, read-only)`.
type Def = (
    &'static str,
    &'static str,
    &'static str,
    Value,
    Value,
    &'static str,
    bool,
);

fn defs(limits: &Limits, models: &[String], default_model: &str) -> Vec<Def> {
    let prompt_route = "POST /api/v1/mcp/contexts/{contextID}/prompt";
    let deleted = json!({"type": "object", "required": ["context_id", "deleted"],
        "properties": {"context_id": {"type": "string"}, "deleted": {"type": "boolean"}}});
    vec![
        ("create_task", "Create an AI task", "Queue a prompt for a model; returns the task id to poll with get_task_status. Supports task-augmented calls.",
            create_task_input(limits, models, default_model), task_ref_output(), prompt_route, false),
        ("get_task_status", "Task status", "Status, timestamps and processing time of a task.",
            task_id_input(), status_output(), "GET /api/v1/mcp/tasks/{taskID}", true),
        ("list_tasks", "List tasks", "Tasks newest first, optionally by status, with a preview of long results.",
            list_tasks_input(), list_tasks_output(), "GET /api/v1/mcp/tasks", true),
        ("get_task_result", "Task result", "The full result and processing time of a completed task.",
            task_id_input(), result_output(), "GET /api/v1/mcp/tasks/{taskID}", true),
        ("cancel_task", "Cancel a task", "A pending task never runs; a running one is cancelled and its late result discarded.",
            task_id_input(), task_ref_output(), "POST /api/v1/mcp/tasks/{taskID}/cancel", false),
        ("create_context", "Create a conversation context", "Start a conversation, optionally with a system prompt.",
            create_context_input(models), context_output(), "POST /api/v1/mcp/contexts", false),
        ("get_context", "Read a context", "A conversation context with its nodes in order.",
            context_id_input(), context_output(), "GET /api/v1/mcp/contexts/{contextID}", true),
        ("add_prompt", "Prompt a context", "Append a user prompt to a context; the reply is appended when its task completes. Supports task-augmented calls.",
            add_prompt_input(limits), task_ref_output(), prompt_route, false),
        ("delete_context", "Delete a context", "Remove a context and all its nodes.",
            context_id_input(), deleted, "DELETE /api/v1/mcp/contexts/{contextID}", false),
    ]
}

/// The built-in tools, with schemas from the configured limits and models.
///
/// # Errors
/// When a schema does not compile (a bug: the unit tests compile them all).
pub fn specs(limits: &Limits, models: &[String], default_model: &str) -> anyhow::Result<Vec<ToolSpec>> {
    defs(limits, models, default_model)
        .into_iter()
        .map(|(name, title, description, input, output, route, read_only)| {
            let validator = jsonschema::validator_for(&input).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            let mut tool = Tool::new(name, description, object(input));
            tool.title = Some(title.to_owned());
            tool.output_schema = Some(object(output));
            let mut hints = ToolAnnotations::new();
            hints.read_only_hint = Some(read_only);
            hints.destructive_hint = Some(name == "delete_context" || name == "cancel_task");
            tool.annotations = Some(hints);
            Ok(ToolSpec { tool, validator, route })
        })
        .collect()
}

/// What is wrong with `args`, one line per violation, naming where.
#[must_use]
pub fn violations(spec: &ToolSpec, args: &Value) -> Option<String> {
    shared::registered::service::violations_of(&spec.validator, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<ToolSpec> {
        specs(&Limits::default(), &["local-echo".into()], "local-echo").unwrap()
    }

    #[test]
    fn every_tool_has_input_and_output_schemas_and_a_route() {
        let specs = all();
        assert_eq!(specs.len(), 9);
        for s in &specs {
            assert!(
                s.tool.output_schema.is_some() && s.route.contains("/api/v1/"),
                "{}",
                s.tool.name
            );
            assert_eq!(s.tool.input_schema["type"], "object");
        }
    }

    #[test]
    fn arguments_are_checked_against_the_schema_and_the_violation_is_named() {
        let specs = all();
        let create = specs.iter().find(|s| s.tool.name == "create_task").unwrap();
        assert!(violations(create, &json!({"prompt": "hi", "priority": 5})).is_none());
        let long = "x".repeat(1001);
        for bad in [
            json!({}),
            json!({"prompt": ""}),
            json!({"prompt": long}),
            json!({"prompt": "a", "priority": 11}),
            json!({"prompt": "a", "model": "gpt-9"}),
            json!({"prompt": "a", "colour": "red"}),
        ] {
            assert!(violations(create, &bad).is_some(), "{bad}");
        }
        assert!(violations(create, &json!({"prompt": "a", "priority": 0}))
            .unwrap()
            .contains("/priority"));
    }
}
