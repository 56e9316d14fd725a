//! Every MCP method × every role through the gateway, in both protocol eras where a method has both:
//! each call is allowed or refused exactly as the permission table says for its REST twin; a refused
//! mutation leaves the task as it was; every mutation leaves one audit entry, denied (403) when refused.

use serde_json::{json, Value};
use shared::auth::permissions::allows;
use shared::auth::Role;

use crate::audit::entries_of;
use crate::conversation::{finished, get, post};
use crate::helpers::{fresh_tenant, tool_endpoint, Credential};
use crate::mcp_client::{caller, created_task, message, refused, rpc, tool, LEGACY, MODERN};

const TASK: &str = "GET /api/v1/mcp/tasks/{taskID}";
const TASKS: &str = "GET /api/v1/mcp/tasks";
const CANCEL: &str = "POST /api/v1/mcp/tasks/{taskID}/cancel";
const PROMPT: &str = "POST /api/v1/mcp/contexts/{contextID}/prompt";

/// What a permitted call answers: a result, or (a cancel of a completed task) "already completed".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Permitted {
    Answers,
    AlreadyFinished,
}
use Permitted::{AlreadyFinished, Answers};

/// The built-in tools: name, the REST twin whose roles it needs, whether it changes state, and what a
/// permitted call gets (the task they name is completed, the context is the caller's own).
const TOOLS: [(&str, &str, bool, Permitted); 9] = [
    ("create_task", PROMPT, true, Answers),
    ("get_task_status", TASK, false, Answers),
    ("list_tasks", TASKS, false, Answers),
    ("get_task_result", TASK, false, Answers),
    ("cancel_task", CANCEL, true, AlreadyFinished),
    ("create_context", "POST /api/v1/mcp/contexts", true, Answers),
    ("get_context", "GET /api/v1/mcp/contexts/{contextID}", false, Answers),
    ("add_prompt", PROMPT, true, Answers),
    (
        "delete_context",
        "DELETE /api/v1/mcp/contexts/{contextID}",
        true,
        Answers,
    ),
];

/// The methods besides `tools/call`: era, method, the REST twin, whether it changes state, and what
/// a permitted call gets. Task methods name the completed task.
const METHODS: [(&str, &str, &str, bool, Permitted); 13] = [
    (LEGACY, "initialize", "POST /mcp", false, Answers),
    (LEGACY, "tools/list", "GET /api/v1/tools", false, Answers),
    (LEGACY, "resources/list", "GET /api/v1/resources", false, Answers),
    (LEGACY, "resources/read", TASK, false, Answers),
    (LEGACY, "prompts/list", "GET /api/v1/prompts", false, Answers),
    (LEGACY, "prompts/get", TASKS, false, Answers),
    (LEGACY, "completion/complete", TASKS, false, Answers),
    (LEGACY, "tasks/get", TASK, false, Answers),
    (LEGACY, "tasks/list", TASKS, false, Answers),
    (LEGACY, "tasks/result", TASK, false, Answers),
    (LEGACY, "tasks/cancel", CANCEL, true, AlreadyFinished),
    (MODERN, "tasks/get", TASK, false, Answers),
    (MODERN, "tasks/cancel", CANCEL, true, AlreadyFinished),
];

/// One MCP call, the REST route whose permission it needs, and its audit target when it is a mutation.
struct Case {
    era: &'static str,
    method: &'static str,
    params: Value,
    route: &'static str,
    mutation: Option<String>,
    permitted: Permitted,
}

/// What the calls point at: a completed task, a context per role, a registered tool.
struct Fixture {
    tenant: String,
    admin: Credential,
    done: String,
    contexts: Vec<String>,
    tool: String,
}

impl Fixture {
    /// The arguments of a built-in tool, or of the registered one.
    fn arguments(&self, tool: &str, context: &str) -> Value {
        match tool {
            "create_task" => json!({"prompt": "from the role matrix"}),
            "list_tasks" | "create_context" => json!({}),
            "get_context" | "delete_context" => json!({"context_id": context}),
            "add_prompt" => json!({"context_id": context, "prompt": "from the role matrix"}),
            t if t == self.tool => json!({"city": "Paris"}),
            _ => json!({"task_id": self.done}),
        }
    }

    /// The params of a method other than `tools/call`.
    fn params(&self, method: &str) -> Value {
        let uri = format!("data://tasks/{}", self.done);
        match method {
            "initialize" => {
                json!({"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}})
            }
            "resources/read" => json!({ "uri": uri }),
            "prompts/get" => json!({"name": "system_health", "arguments": {"time_period": "day"}}),
            "completion/complete" => json!({"ref": {"type": "ref/prompt", "name": "system_health"},
                "argument": {"name": "time_period", "value": "d"}}),
            m if m.starts_with("tasks/") && m != "tasks/list" => json!({"taskId": self.done}),
            _ => json!({}),
        }
    }

    /// Every call a role makes: each built-in tool and the registered one on its `context`, and every
    /// other method.
    fn cases(&self, context: &str) -> Vec<Case> {
        let registered = (self.tool.as_str(), "POST /api/v1/tools/{name}/execute", true, Answers);
        let tools = TOOLS
            .into_iter()
            .chain([registered])
            .map(|(name, route, mutating, permitted)| Case {
                era: LEGACY,
                method: "tools/call",
                params: tool(name, self.arguments(name, context)),
                route,
                mutation: mutating.then(|| format!("tools/call {name}")),
                permitted,
            });
        let others = METHODS
            .into_iter()
            .map(|(era, method, route, mutating, permitted)| Case {
                era,
                method,
                params: self.params(method),
                route,
                mutation: mutating.then(|| format!("{method} {}", self.done)),
                permitted,
            });
        tools.chain(others).collect()
    }
}

async fn fixture() -> Fixture {
    let tenant = fresh_tenant("mcproles");
    let (admin, _) = caller(&tenant, Role::Admin, "setup");
    let done = created_task(&admin).await;
    assert_eq!(finished(&admin, &done).await["status"], "completed");
    let mut contexts = Vec::new();
    for _ in Role::ALL {
        let body = json!({"model_id": "local-echo", "user_id": fresh_tenant("user")});
        let (status, created) = post(&admin, "/api/v1/mcp/contexts", &body).await;
        assert_eq!(status, 201, "{created}");
        contexts.push(created["context_id"].as_str().unwrap().to_owned());
    }
    let tool = fresh_tenant("tool");
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    let body = json!({"name": tool, "description": "Echoes", "input_schema": schema, "endpoint": tool_endpoint()});
    let (status, registered) = post(&admin, "/api/v1/tools", &body).await;
    assert_eq!(status, 201, "{registered}");
    Fixture {
        tenant,
        admin,
        done,
        contexts,
        tool,
    }
}

/// Sends `case` as `role` (its own subject) and checks the answer against the permission table.
async fn check(tenant: &str, role: Role, n: usize, case: &Case) -> String {
    let (who, subject) = caller(tenant, role, &n.to_string());
    let answer = rpc(&who, case.era, case.method, case.params.clone()).await;
    let what = format!(
        "{role} {} {} ({}): {answer}",
        case.method, case.params["name"], case.era
    );
    if !allows(case.route, role) {
        assert!(refused(&answer, case.method, role), "not refused: {what}");
        return subject;
    }
    assert!(!refused(&answer, case.method, role), "refused: {what}");
    match case.permitted {
        Permitted::Answers => assert!(
            answer["result"].is_object() && answer["result"]["isError"] != true,
            "{what}"
        ),
        Permitted::AlreadyFinished => assert!(message(&answer).contains("is already completed"), "{what}"),
    }
    subject
}

/// One audit entry per mutation (denied, 403, when the role may not use its route), none per read.
async fn assert_audited(admin: &Credential, calls: &[(Role, String, &Case)]) {
    let (status, page) = get(admin, "/api/v1/audit?limit=100").await;
    assert_eq!(status, 200, "{page}");
    for (role, subject, case) in calls {
        let mine = entries_of(&page, subject);
        let Some(target) = &case.mutation else {
            assert!(mine.is_empty(), "a read was audited: {mine:?}");
            continue;
        };
        let [(action, audited, outcome, status)] = mine.as_slice() else {
            panic!("{role} {target}: not one entry but {mine:?}")
        };
        assert_eq!((action.as_str(), audited), ("POST /mcp", target), "{role}");
        let denied = (outcome == "denied", *status);
        match allows(case.route, *role) {
            true => assert!(!denied.0, "{role} {target}: {mine:?}"),
            false => assert_eq!(denied, (true, 403), "{role} {target}: {mine:?}"),
        }
    }
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn every_role_may_call_exactly_the_mcp_methods_its_rest_twins_allow_and_each_mutation_is_audited() {
    // GIVEN a tenant with a completed task, a context per role and a registered tool
    let f = fixture().await;
    let mut calls = Vec::new();
    let all: Vec<Vec<Case>> = f.contexts.iter().map(|c| f.cases(c)).collect();
    // WHEN every role calls every method (each on its own context)
    for (role, cases) in Role::ALL.into_iter().zip(&all) {
        for (n, case) in cases.iter().enumerate() {
            // THEN each is allowed or refused as the permission table says
            calls.push((role, check(&f.tenant, role, n, case).await, case));
        }
    }
    // AND each mutation, allowed or not, left exactly one audit entry
    assert_audited(&f.admin, &calls).await;
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_viewers_cancel_through_every_door_leaves_the_task_to_complete_and_is_audited_as_denied() {
    // GIVEN a task an operator has just created
    let tenant = fresh_tenant("mcpdeny");
    let (operator, _) = caller(&tenant, Role::Operator, "setup");
    let task_id = created_task(&operator).await;
    // WHEN a viewer tries to cancel it at once through both eras' tasks/cancel and the cancel_task tool
    let doors = [
        (
            LEGACY,
            "tasks/cancel",
            json!({"taskId": task_id}),
            format!("tasks/cancel {task_id}"),
        ),
        (
            MODERN,
            "tasks/cancel",
            json!({"taskId": task_id}),
            format!("tasks/cancel {task_id}"),
        ),
        (
            LEGACY,
            "tools/call",
            tool("cancel_task", json!({"task_id": task_id})),
            "tools/call cancel_task".into(),
        ),
    ];
    let mut attempts = Vec::new();
    for (n, (era, method, params, target)) in doors.into_iter().enumerate() {
        let (viewer, subject) = caller(&tenant, Role::Viewer, &format!("door{n}"));
        let answer = rpc(&viewer, era, method, params).await;
        assert!(refused(&answer, method, Role::Viewer), "{method} ({era}): {answer}");
        attempts.push((subject, target));
    }
    // AND through the REST twin
    let (viewer, subject) = caller(&tenant, Role::Viewer, "rest");
    let (status, body) = post(&viewer, &format!("/api/v1/mcp/tasks/{task_id}/cancel"), &json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("FORBIDDEN")),
        "{body}"
    );
    attempts.push((subject, task_id.clone()));
    // THEN the task runs to completion, once: no door cancelled it
    let task = finished(&operator, &task_id).await;
    let seen = (task["status"].as_str(), task["attempts"].as_u64());
    assert_eq!(seen, (Some("completed"), Some(1)), "{task}");
    // AND each attempt left one denied (403) audit entry, the MCP ones naming the door and the task
    let (admin, _) = caller(&tenant, Role::Admin, "audit");
    let (_, page) = get(&admin, "/api/v1/audit?limit=100").await;
    for (subject, target) in &attempts {
        let seen: Vec<_> = entries_of(&page, subject)
            .into_iter()
            .map(|(_, t, o, s)| (t, o, s))
            .collect();
        assert_eq!(seen, [(target.clone(), "denied".to_owned(), 403)], "{subject}");
    }
}
