//! MCP Tasks as the 2025-11-25 protocol has them (SEP-1686): a task-augmented `tools/call` of
//! `create_task` or `add_prompt`, then `tasks/get`, `tasks/result`, `tasks/list` and
//! `tasks/cancel`, over the same durable tasks as everything else. rmcp 3.11 implements only the
//! 2026-07-28 tasks extension (SEP-2663), so these few requests of 2025-11-25 clients are answered
//! here, and rmcp's `initialize` and `tools/list` answers are amended with the `tasks` capability and
//! the tools' `execution.taskSupport`. Everything else goes to rmcp.

use std::time::Duration;

use super::{access, conversation_error, lambda, McpServer};
use chrono::Utc;
use serde_json::{json, Value};
use shared::auth::Principal;
use shared::conversation::listing::paging;
use shared::tasks::listing::TaskFilter;
use shared::tasks::model::{Task, TaskStatus};

/// The protocol version these requests belong to.
pub const VERSION: &str = "2025-11-25";
/// Tools that may be called as tasks.
pub const TASK_TOOLS: [&str; 2] = ["create_task", "add_prompt"];
/// How long `tasks/result` waits for a task to end (API Gateway gives an integration 30 s).
pub const RESULT_WAIT: Duration = Duration::from_secs(25);

fn ok(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn err(id: &Value, code: i64, message: String) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn refused(id: &Value, error: &rmcp::model::ErrorData) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": error})
}

/// A durable task in the 2025-11-25 shape: the 2026-07-28 task under that era's field names.
#[must_use]
pub fn task_json(task: &Task) -> Value {
    let t = lambda::mcp_task(task);
    json!({"taskId": t.task_id, "status": t.status, "statusMessage": t.status_message, "createdAt": t.created_at,
        "lastUpdatedAt": t.last_updated_at, "ttl": t.ttl_ms, "pollInterval": t.poll_interval_ms})
}

/// Answers `body` when it is one of the requests above; `None` sends it on to rmcp. Each task method
/// first needs its REST twin's role ([`access::permit`]), then a well-formed task id.
pub async fn answer(server: &McpServer, who: &Principal, body: &Value) -> Option<Value> {
    let (id, params) = (&body["id"], &body["params"]);
    let method = body["method"].as_str()?;
    if method == "tools/call" && params["task"].is_object() && TASK_TOOLS.contains(&params["name"].as_str()?) {
        return Some(augmented_call(server, who, id, params).await);
    }
    access::task_route(method)?;
    if let Err(e) = access::permit(who, method) {
        return Some(refused(id, &e));
    }
    if method == "tasks/list" {
        return Some(list(server, who, id, params["cursor"].as_str()).await);
    }
    let task_id = match access::task_id(params["taskId"].as_str().unwrap_or_default()) {
        Ok(task_id) => task_id,
        Err(e) => return Some(refused(id, &e)),
    };
    Some(match method {
        "tasks/get" => match server.state.deps.task(who, task_id, Utc::now()).await {
            Ok(task) => ok(id, task_json(&task)),
            Err(e) => refused(id, &conversation_error(e)),
        },
        "tasks/result" => result(server, who, id, task_id).await,
        _ => match server.state.deps.cancel_task(who, task_id, Utc::now()).await {
            Ok(task) => ok(id, task_json(&task)),
            Err(e) => refused(id, &conversation_error(e)),
        },
    })
}

async fn augmented_call(server: &McpServer, who: &Principal, id: &Value, params: &Value) -> Value {
    let name = params["name"].as_str().unwrap_or_default();
    let args = params.get("arguments").cloned().unwrap_or_else(|| json!({}));
    let result = match server.run_tool(who, name, &args, None).await {
        Ok(r) => r,
        Err(e) => return err(id, i64::from(e.code.0), e.message.to_string()),
    };
    let task_id = result.structured_content.as_ref().and_then(|v| v["task_id"].as_str());
    match (result.is_error, task_id) {
        (Some(false) | None, Some(task_id)) => match server.state.deps.task(who, task_id, Utc::now()).await {
            Ok(task) => ok(id, json!({"task": task_json(&task)})),
            Err(e) => refused(id, &conversation_error(e)),
        },
        // A refused call is answered at once, as the tool's own error.
        _ => ok(id, serde_json::to_value(&result).unwrap_or_default()),
    }
}

/// The tool result of a task, once it ends (waiting up to [`RESULT_WAIT`]).
async fn result(server: &McpServer, who: &Principal, id: &Value, task_id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + RESULT_WAIT;
    loop {
        let task = match server.state.deps.task(who, task_id, Utc::now()).await {
            Ok(t) => t,
            Err(e) => return refused(id, &conversation_error(e)),
        };
        let related = json!({"io.modelcontextprotocol/related-task": {"taskId": task_id}});
        match task.status {
            TaskStatus::Completed => {
                let mut body = lambda::completed_result(&task);
                body["_meta"] = related;
                return ok(id, body);
            }
            TaskStatus::Failed => {
                let text = task.error.clone().unwrap_or_default();
                return ok(
                    id,
                    json!({"content": [{"type": "text", "text": text}], "isError": true, "_meta": related}),
                );
            }
            TaskStatus::Cancelled => return err(id, -32602, format!("task {task_id} was cancelled")),
            _ if tokio::time::Instant::now() >= deadline => {
                return err(
                    id,
                    -32603,
                    format!("task {task_id} is still working; call tasks/result again"),
                )
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

async fn list(server: &McpServer, who: &Principal, id: &Value, after: Option<&str>) -> Value {
    let after = match paging(None, after) {
        Ok((_, a)) => a,
        Err(e) => return err(id, -32602, e.to_string()),
    };
    match server
        .state
        .deps
        .list_tasks(
            who,
            &TaskFilter::default(),
            50,
            after.as_deref(),
            Utc::now().timestamp(),
        )
        .await
    {
        Ok(page) => {
            let tasks: Vec<Value> = page.items.iter().map(task_json).collect();
            ok(id, json!({"tasks": tasks, "nextCursor": page.next_cursor}))
        }
        Err(e) => refused(id, &conversation_error(e)),
    }
}

/// Adds what 2025-11-25 clients look for to rmcp's answer: the `tasks` capability at initialize,
/// and `execution.taskSupport` on the task tools in `tools/list`.
#[must_use]
pub fn amend(method: &str, legacy_header: bool, mut answer: Value) -> Value {
    let result = &mut answer["result"];
    match method {
        "initialize" if result["protocolVersion"] == VERSION => {
            result["capabilities"]["tasks"] = json!({"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}});
        }
        "tools/list" if legacy_header => {
            for tool in result["tools"].as_array_mut().into_iter().flatten() {
                if tool["name"].as_str().is_some_and(|n| TASK_TOOLS.contains(&n)) {
                    tool["execution"] = json!({"taskSupport": "optional"});
                }
            }
        }
        _ => {}
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initialize_of_2025_gets_the_tasks_capability_and_task_tools_their_task_support() {
        let init = json!({"result": {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}}}});
        let amended = amend("initialize", false, init);
        assert_eq!(
            amended["result"]["capabilities"]["tasks"]["requests"]["tools"]["call"],
            json!({})
        );
        let newer = amend(
            "initialize",
            false,
            json!({"result": {"protocolVersion": "2026-07-28", "capabilities": {}}}),
        );
        assert!(newer["result"]["capabilities"].get("tasks").is_none());
        let list = json!({"result": {"tools": [{"name": "create_task"}, {"name": "get_task_status"}]}});
        let amended = amend("tools/list", true, list);
        assert_eq!(amended["result"]["tools"][0]["execution"]["taskSupport"], "optional");
        assert!(amended["result"]["tools"][1].get("execution").is_none());
    }
}
