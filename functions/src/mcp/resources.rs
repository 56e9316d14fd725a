//! The built-in resources: a task's JSON Schema, the statuses and their transitions, the models and
//! their availability, the tenant's counters, and one task by id (a resource template).

use serde_json::{json, Value};

/// `(uri, name, description)` of the fixed resources.
pub const FIXED: [(&str, &str, &str); 4] = [
    (
        "data://tasks/schema",
        "Task schema",
        "JSON Schema of a task as the tools and the REST API return it",
    ),
    (
        "data://tasks/statuses",
        "Task statuses",
        "Each status, what it means, and the transitions allowed from it",
    ),
    (
        "data://models/available",
        "Available models",
        "Providers and models, and whether each can be used now",
    ),
    (
        "data://system/stats",
        "System statistics",
        "Counts by status, completion rate, processing times and per-provider success, kept on write",
    ),
];

/// The resource template of one task.
pub const TASK_TEMPLATE: &str = "data://tasks/{task_id}";

/// The task id a `data://tasks/<id>` URI names (not the fixed `schema` and `statuses`).
#[must_use]
pub fn task_id(uri: &str) -> Option<&str> {
    let id = uri.strip_prefix("data://tasks/")?;
    (!id.is_empty() && !id.contains('/') && id != "schema" && id != "statuses").then_some(id)
}

/// `resources/list` entries.
#[must_use]
pub fn list() -> Value {
    let resources: Vec<Value> = FIXED
        .iter()
        .map(|(uri, name, description)| {
            json!({"uri": uri, "name": name, "description": description, "mimeType": "application/json"})
        })
        .collect();
    json!({"resources": resources})
}

/// `resources/templates/list` entries.
#[must_use]
pub fn templates() -> Value {
    json!({"resourceTemplates": [{"uriTemplate": TASK_TEMPLATE, "name": "Task",
        "description": "One task: status, timestamps, result or error", "mimeType": "application/json"}]})
}

/// A `resources/read` answer holding one JSON document.
#[must_use]
pub fn contents(uri: &str, document: &Value) -> Value {
    json!({"contents": [{"uri": uri, "mimeType": "application/json", "text": document.to_string()}]})
}

/// `data://tasks/statuses`.
#[must_use]
pub fn statuses() -> Value {
    let status = |name: &str, tool: &str, meaning: &str, next: &[&str]| json!({"status": name, "tool_status": tool, "meaning": meaning, "transitions": next, "final": next.is_empty()});
    json!({"statuses": [
        status("pending", "PENDING", "accepted and queued; no worker has taken it", &["running", "cancelled"]),
        status("running", "PROCESSING", "a worker holds it under a lease and is calling the provider chain (a pipeline stage: its agent works on it)",
            &["completed", "failed", "cancelled", "running", "retrying"]),
        status("retrying", "RETRYING", "a pipeline stage's attempt failed or timed out; the next attempt starts after the backoff",
            &["pending", "failed", "cancelled"]),
        status("completed", "COMPLETED", "the provider answered; the result is on the task", &[]),
        status("failed", "FAILED", "every provider of the chain failed; the error names each and why", &[]),
        status("cancelled", "CANCELLED", "cancelled by a caller; a late result is discarded", &[]),
    ], "note": "running -> running is a takeover after a crashed worker's lease ran out"})
}

/// `data://tasks/schema`.
#[must_use]
pub fn task_schema() -> Value {
    let text = json!({"type": ["string", "null"]});
    json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Task", "type": "object",
        "required": ["task_id", "type", "status", "priority", "created_at", "attempts"],
        "properties": {
            "task_id": {"type": "string"},
            "type": {"enum": ["mcp.create_context", "mcp.add_prompt", "mcp.add_node", "mcp.delete_node",
                "mcp.delete_context", "ai.completion", "pipeline.stage"]},
            "status": {"enum": ["pending", "running", "retrying", "completed", "failed", "cancelled"]},
            "priority": {"type": "integer", "minimum": 1, "maximum": 10},
            "context_id": text, "user_id": text, "model_id": text,
            "created_at": {"type": "string", "format": "date-time"},
            "started_at": text, "finished_at": text,
            "attempts": {"type": "integer", "minimum": 0},
            "provider": text, "model": text,
            "usage": {"type": ["object", "null"], "properties": {"input_tokens": {"type": "integer"},
                "output_tokens": {"type": "integer"}}},
            "output": text, "error": text, "input": {"type": "string"}, "requested_provider": {"type": "string"}}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_uris_name_a_task_but_not_the_fixed_resources() {
        assert_eq!(task_id("data://tasks/task_1"), Some("task_1"));
        for uri in [
            "data://tasks/schema",
            "data://tasks/statuses",
            "data://tasks/",
            "data://tasks/a/b",
            "file:///x",
        ] {
            assert_eq!(task_id(uri), None, "{uri}");
        }
    }

    #[test]
    fn the_task_schema_compiles_and_statuses_only_end_in_final_ones() {
        assert!(jsonschema::validator_for(&task_schema()).is_ok());
        let s = statuses();
        let finals: Vec<&str> = s["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["final"] == true)
            .map(|x| x["status"].as_str().unwrap())
            .collect();
        assert_eq!(finals, ["completed", "failed", "cancelled"]);
    }
}
