//! The MCP methods' permissions and audit view, against the permission table.

use super::*;
use rmcp::model::ErrorCode;
use serde_json::json;
use shared::auth::{AuthMethod, Role};
use shared::contexts::requests::Limits;

fn who(role: Role) -> Principal {
    Principal {
        tenant: "acme".try_into().unwrap(),
        subject: format!("{role}@acme"),
        role,
        method: AuthMethod::Jwt,
    }
}

fn tools() -> Vec<ToolSpec> {
    super::super::tools::specs(&Limits::default(), &["local-echo".into()], "local-echo").unwrap()
}

const TASK: &str = "task_01a20398582b88827d829519aa87";

#[test]
fn only_the_roles_that_may_cancel_over_rest_may_cancel_over_mcp() {
    for role in Role::ALL {
        let allowed = allows("POST /api/v1/mcp/tasks/{taskID}/cancel", role);
        assert_eq!(permit(&who(role), "tasks/cancel").is_ok(), allowed, "{role}");
        // Reading tasks follows the GET routes: every role today.
        for method in ["tasks/get", "tasks/result", "tasks/list"] {
            assert!(permit(&who(role), method).is_ok(), "{role} {method}");
        }
    }
    let refused = permit(&who(Role::Viewer), "tasks/cancel").unwrap_err();
    assert_eq!(refused.code, FORBIDDEN);
    assert_eq!(refused.message, "role viewer may not call tasks/cancel");
    assert_eq!(refused.data.unwrap()["route"], CANCEL_ROUTE);
}

#[test]
fn cancels_and_mutating_tool_calls_are_mutations_and_reads_are_not() {
    let tools = tools();
    let cancel = json!({"method": "tasks/cancel", "params": {"taskId": TASK}});
    assert_eq!(
        mutation(&tools, &cancel),
        Some(Mutation {
            route: CANCEL_ROUTE,
            target: format!("tasks/cancel {TASK}")
        })
    );
    let tool = |name: &str| json!({"method": "tools/call", "params": {"name": name, "arguments": {}}});
    assert_eq!(mutation(&tools, &tool("cancel_task")).unwrap().route, CANCEL_ROUTE);
    assert_eq!(
        mutation(&tools, &tool("delete_context")).unwrap().route,
        "DELETE /api/v1/mcp/contexts/{contextID}"
    );
    assert_eq!(mutation(&tools, &tool("my_registered")).unwrap().route, EXECUTE_ROUTE);
    for read in [
        tool("get_task_status"),
        tool("list_tasks"),
        json!({"method": "tasks/get", "params": {"taskId": TASK}}),
        json!({"method": "tools/list"}),
        json!({"method": "resources/read", "params": {"uri": "data://tasks/schema"}}),
    ] {
        assert_eq!(mutation(&tools, &read), None, "{read}");
    }
}

#[test]
fn an_audit_target_leaves_out_an_id_that_breaks_its_format() {
    let tools = tools();
    let long = "t#".repeat(10_000);
    let cancel = json!({"method": "tasks/cancel", "params": {"taskId": long}});
    assert_eq!(mutation(&tools, &cancel).unwrap().target, "tasks/cancel");
    let call = json!({"method": "tools/call", "params": {"name": long}});
    assert_eq!(mutation(&tools, &call).unwrap().target, "tools/call");
    assert!(task_id(&long).unwrap_err().message.starts_with("no task with that id"));
    assert_eq!(task_id(TASK).unwrap(), TASK);
}

#[test]
fn a_mutation_the_role_may_not_make_is_audited_as_403_whatever_the_answer() {
    let cancel = Mutation {
        route: CANCEL_ROUTE,
        target: "tasks/cancel".into(),
    };
    let ok = json!({"result": {}});
    let failed = json!({"error": {"code": ErrorCode::INVALID_PARAMS.0}});
    let tool_error = json!({"result": {"isError": true}});
    assert_eq!(audited_status(&who(Role::Viewer), &cancel, 200, &ok), 403);
    assert_eq!(audited_status(&who(Role::Viewer), &cancel, 400, &failed), 403);
    assert_eq!(audited_status(&who(Role::Agent), &cancel, 200, &ok), 200);
    assert_eq!(audited_status(&who(Role::Agent), &cancel, 200, &failed), 400);
    assert_eq!(audited_status(&who(Role::Agent), &cancel, 200, &tool_error), 400);
    assert_eq!(audited_status(&who(Role::Agent), &cancel, 429, &ok), 429);
}
