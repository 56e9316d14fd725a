//! Who may use which MCP method, and what the audit log records of it. The MCP endpoint's route
//! (`POST /mcp`) is open to every role, so each method that touches tasks needs the role of its REST
//! twin in the one permission table ([`shared::auth::permissions`]): `tasks/cancel` in both protocol
//! eras is `POST /api/v1/mcp/tasks/{taskID}/cancel`, `tasks/get` and `tasks/result` are
//! `GET /api/v1/mcp/tasks/{taskID}`, `tasks/list` is `GET /api/v1/mcp/tasks`; a built-in tool needs
//! its [`super::tools::ToolSpec::route`], a registered tool `POST /api/v1/tools/{name}/execute`.
//!
//! Every method that changes state (a `tools/call` of a tool that is not read-only, `tasks/cancel`)
//! is audited like its REST twin: denied (403) when the role may not use that route, whatever the
//! request then held; otherwise succeeded or failed by the answer. `tasks/update` is not
//! implemented (rmcp answers `-32601`), so it changes nothing.

use rmcp::model::{ErrorCode, ErrorData};
use serde_json::{json, Value};
use shared::auth::permissions::allows;
use shared::auth::Principal;
use shared::ids::IdKind;
use shared::registered::Kind;

use super::tools::ToolSpec;

/// The REST twin of `tasks/cancel` and of the `cancel_task` tool.
pub const CANCEL_ROUTE: &str = "POST /api/v1/mcp/tasks/{taskID}/cancel";
/// The REST twin of `tasks/get` and `tasks/result`.
pub const TASK_ROUTE: &str = "GET /api/v1/mcp/tasks/{taskID}";
/// The REST twin of `tasks/list`.
pub const TASKS_ROUTE: &str = "GET /api/v1/mcp/tasks";
/// The REST twin of a registered tool's call.
pub const EXECUTE_ROUTE: &str = "POST /api/v1/tools/{name}/execute";

/// The JSON-RPC error of a role that may not use a method: a server-defined code (JSON-RPC leaves
/// -32000 to -32099 to servers), with `data.code` `FORBIDDEN` as in the REST envelope.
pub const FORBIDDEN: ErrorCode = ErrorCode(-32003);

/// The REST route whose permission a task method needs; `None` for other methods.
#[must_use]
pub fn task_route(method: &str) -> Option<&'static str> {
    match method {
        "tasks/cancel" => Some(CANCEL_ROUTE),
        "tasks/get" | "tasks/result" => Some(TASK_ROUTE),
        "tasks/list" => Some(TASKS_ROUTE),
        _ => None,
    }
}

/// The refusal of `method` to `who`, naming the role and the route it would need.
#[must_use]
pub fn forbidden(who: &Principal, method: &str, route: &str) -> ErrorData {
    let message = format!("role {} may not call {method}", who.role);
    ErrorData::new(FORBIDDEN, message, Some(json!({"code": "FORBIDDEN", "route": route})))
}

/// Whether `who` may use the task method `method` (any other method passes here).
///
/// # Errors
/// [`FORBIDDEN`] when the role may not call the method's REST twin.
pub fn permit(who: &Principal, method: &str) -> Result<(), ErrorData> {
    match task_route(method) {
        Some(route) if !allows(route, who.role) => Err(forbidden(who, method, route)),
        _ => Ok(()),
    }
}

/// A task id from an MCP request, checked against its format before any I/O.
///
/// # Errors
/// Invalid params saying what a task id looks like, without repeating the one given.
pub fn task_id(id: &str) -> Result<&str, ErrorData> {
    IdKind::Task
        .check(id)
        .map_err(|e| ErrorData::invalid_params(e.to_string(), None))
}

/// A state-changing MCP request: the REST route whose permission it needs, and the audit target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutation {
    pub route: &'static str,
    pub target: String,
}

/// `"<what> <id>"`, the id left out when it breaks its format (it may be anything, of any length).
fn target(what: &str, id: Option<&str>, kind: IdKind) -> String {
    match id.filter(|id| kind.matches(id)) {
        Some(id) => format!("{what} {id}"),
        None => what.to_owned(),
    }
}

/// The mutation `body` asks for, or `None` when it only reads.
#[must_use]
pub fn mutation(tools: &[ToolSpec], body: &Value) -> Option<Mutation> {
    let params = &body["params"];
    match body["method"].as_str()? {
        "tasks/cancel" => Some(Mutation {
            route: CANCEL_ROUTE,
            target: target("tasks/cancel", params["taskId"].as_str(), IdKind::Task),
        }),
        "tools/call" => {
            let name = params["name"].as_str()?;
            let route = match tools.iter().find(|s| s.tool.name == name) {
                Some(spec) if read_only(spec) => return None,
                Some(spec) => spec.route,
                None => EXECUTE_ROUTE,
            };
            let target = target("tools/call", Some(name), IdKind::Registered(Kind::Tool));
            Some(Mutation { route, target })
        }
        _ => None,
    }
}

fn read_only(spec: &ToolSpec) -> bool {
    spec.tool
        .annotations
        .as_ref()
        .and_then(|a| a.read_only_hint)
        .unwrap_or(false)
}

/// The status the audit log records for a mutation: `403` when the role may not use its route,
/// else the HTTP status, with a JSON-RPC error or an `isError` result counting as a failed `400`.
#[must_use]
pub fn audited_status(who: &Principal, mutation: &Mutation, http_status: u16, answer: &Value) -> u16 {
    if !allows(mutation.route, who.role) {
        return 403;
    }
    let failed = answer.get("error").is_some() || answer["result"]["isError"] == true;
    match http_status {
        200 if failed => 400,
        other => other,
    }
}

#[cfg(test)]
mod tests;
