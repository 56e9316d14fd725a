//! The AWS round trips of each hot REST route, counted by the SDK itself (`MCPFLOW_COUNT_CALLS`, set
//! by `make test`; see `shared::aws::calls`): each answer names the calls its handler made in
//! `x-mcpflow-aws-calls`. A change that adds a round trip to a route fails here. (The authorizer's
//! own calls, the audit entry and the metrics sample, which follow the answer, are not in the header;
//! the README's table adds them.)

use serde_json::{json, Value};

use crate::auth_matrix::{bearer, jwt, secret};
use crate::helpers::{fresh_tenant, gateway_url, http, tool_endpoint, Credential};

/// Each route as the test calls it, and the round trips its handler makes.
const EXPECTED: &[(&str, &str)] = &[
    ("POST /api/v1/mcp/contexts", "DynamoDB.GetItem=1,DynamoDB.TransactWriteItems=1"),
    ("POST /api/v1/mcp/contexts/{id}/prompt", "DynamoDB.TransactWriteItems=1,DynamoDB.UpdateItem=1,SQS.SendMessage=1"),
    ("GET /api/v1/mcp/tasks/{id}", "DynamoDB.GetItem=1"),
    ("GET /api/v1/mcp/contexts/{id}", "DynamoDB.Query=1"),
    ("GET /api/v1/mcp/contexts", "DynamoDB.Query=1"),
    ("GET /api/v1/mcp/tasks", "DynamoDB.Query=1"),
    ("POST /api/v1/tools", "DynamoDB.GetItem=1,DynamoDB.PutItem=1,DynamoDB.Query=1,DynamoDB.TransactWriteItems=2"),
    ("GET /api/v1/tools", "DynamoDB.Query=1"),
    ("POST /api/v1/pipelines", "DynamoDB.TransactWriteItems=1"),
    ("GET /api/v1/pipelines/{id}", "DynamoDB.GetItem=1"),
    ("POST /api/v1/pipelines/{id}/execute", "DynamoDB.BatchWriteItem=1,DynamoDB.GetItem=1,DynamoDB.PutItem=2,DynamoDB.Query=1,StepFunctions.StartExecution=1"),
    ("GET /api/v1/pipelines/{id}/executions/{id}", "DynamoDB.GetItem=1"),
    ("GET /api/v1/pipelines/{id}/executions", "DynamoDB.Query=1"),
    ("POST /api/v1/agents/register", "DynamoDB.BatchWriteItem=1,DynamoDB.Query=2,DynamoDB.TransactWriteItems=1"),
    ("GET /api/v1/agents", "DynamoDB.Query=1"),
    ("POST /api/v1/agents/{id}/heartbeat", "DynamoDB.BatchWriteItem=1,DynamoDB.Query=1,DynamoDB.UpdateItem=1"),
    // (And, at most every 30 s per instance, the health checks: DescribeTable, GetQueueAttributes of
    // each of the 8 queues, DescribeStateMachine; left out here, as they may come from a cache.)
    ("GET /api/v1/summary", "DynamoDB.BatchGetItem=1,DynamoDB.Query=2"),
    ("GET /api/v1/metrics", "DynamoDB.Query=1,SQS.GetQueueAttributes=8"),
];

async fn call(caller: &Credential, method: &str, path: &str, body: Option<&Value>) -> (u16, Value, String) {
    let url = format!("{}{path}", gateway_url());
    let request = match method {
        "GET" => http().get(url),
        _ => http().post(url).json(body.unwrap_or(&json!({}))),
    };
    let answer = request.header(caller.0, &caller.1).send().await.unwrap();
    let status = answer.status().as_u16();
    let calls = answer
        .headers()
        .get("x-mcpflow-aws-calls")
        .map(|v| v.to_str().unwrap().to_owned())
        .expect("make test sets MCPFLOW_COUNT_CALLS: every answer counts its calls");
    (status, answer.json().await.unwrap_or(Value::Null), calls)
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn each_hot_route_makes_exactly_its_counted_round_trips() {
    let admin = bearer(&jwt(&fresh_tenant("trips"), "admin", &json!({}), &secret()));
    let mut seen: Vec<(&str, String)> = Vec::new();
    let mut step = |route: &'static str, (status, body, calls): (u16, Value, String), ok: u16| {
        assert_eq!(status, ok, "{route}: {body}");
        seen.push((route, calls));
        body
    };
    let made = step(
        "POST /api/v1/mcp/contexts",
        call(&admin, "POST", "/api/v1/mcp/contexts", None).await,
        201,
    );
    let context = made["context_id"].as_str().unwrap().to_owned();
    let asked = step(
        "POST /api/v1/mcp/contexts/{id}/prompt",
        call(
            &admin,
            "POST",
            &format!("/api/v1/mcp/contexts/{context}/prompt"),
            Some(&json!({"prompt": "hi"})),
        )
        .await,
        202,
    );
    let task = asked["task_id"].as_str().unwrap().to_owned();
    step(
        "GET /api/v1/mcp/tasks/{id}",
        call(&admin, "GET", &format!("/api/v1/mcp/tasks/{task}"), None).await,
        200,
    );
    step(
        "GET /api/v1/mcp/contexts/{id}",
        call(&admin, "GET", &format!("/api/v1/mcp/contexts/{context}"), None).await,
        200,
    );
    step(
        "GET /api/v1/mcp/contexts",
        call(&admin, "GET", "/api/v1/mcp/contexts", None).await,
        200,
    );
    step(
        "GET /api/v1/mcp/tasks",
        call(&admin, "GET", "/api/v1/mcp/tasks?limit=10", None).await,
        200,
    );
    let tool = json!({"name": "weather", "description": "Weather", "endpoint": tool_endpoint(),
        "input_schema": {"type": "object"}});
    step(
        "POST /api/v1/tools",
        call(&admin, "POST", "/api/v1/tools", Some(&tool)).await,
        201,
    );
    step(
        "GET /api/v1/tools",
        call(&admin, "GET", "/api/v1/tools", None).await,
        200,
    );
    let pipeline = json!({"name": "one", "stages": [{"name": "only", "type": "analysis"}]});
    let defined = step(
        "POST /api/v1/pipelines",
        call(&admin, "POST", "/api/v1/pipelines", Some(&pipeline)).await,
        201,
    );
    let pipeline = defined["pipeline_id"].as_str().unwrap().to_owned();
    step(
        "GET /api/v1/pipelines/{id}",
        call(&admin, "GET", &format!("/api/v1/pipelines/{pipeline}"), None).await,
        200,
    );
    let run = step(
        "POST /api/v1/pipelines/{id}/execute",
        call(
            &admin,
            "POST",
            &format!("/api/v1/pipelines/{pipeline}/execute"),
            Some(&json!({})),
        )
        .await,
        202,
    );
    let execution = run["execution_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/pipelines/{pipeline}/executions/{execution}");
    step(
        "GET /api/v1/pipelines/{id}/executions/{id}",
        call(&admin, "GET", &path, None).await,
        200,
    );
    let path = format!("/api/v1/pipelines/{pipeline}/executions");
    step(
        "GET /api/v1/pipelines/{id}/executions",
        call(&admin, "GET", &path, None).await,
        200,
    );
    let agent = json!({"name": "a", "type": "worker", "capabilities": ["output"]});
    let registered = step(
        "POST /api/v1/agents/register",
        call(&admin, "POST", "/api/v1/agents/register", Some(&agent)).await,
        201,
    );
    step(
        "GET /api/v1/agents",
        call(&admin, "GET", "/api/v1/agents", None).await,
        200,
    );
    let token = ("x-api-key", registered["token"].as_str().unwrap().to_owned());
    crate::helpers::remember_secret(&token.1);
    let id = registered["agent_id"].as_str().unwrap();
    let beat = json!({"status": "busy", "current_load": 0.5});
    step(
        "POST /api/v1/agents/{id}/heartbeat",
        call(&token, "POST", &format!("/api/v1/agents/{id}/heartbeat"), Some(&beat)).await,
        200,
    );
    let (status, body, calls) = call(&admin, "GET", "/api/v1/summary", None).await;
    let health = [
        "DynamoDB.DescribeTable=",
        "SQS.GetQueueAttributes=",
        "StepFunctions.DescribeStateMachine=",
    ];
    let calls: Vec<&str> = calls
        .split(',')
        .filter(|c| !health.iter().any(|h| c.starts_with(h)))
        .collect();
    step("GET /api/v1/summary", (status, body, calls.join(",")), 200);
    step(
        "GET /api/v1/metrics",
        call(&admin, "GET", "/api/v1/metrics", None).await,
        200,
    );
    let table: Vec<String> = seen.iter().map(|(r, c)| format!("    (\"{r}\", \"{c}\"),")).collect();
    println!("measured:\n{}", table.join("\n"));
    let cancel = format!("/api/v1/pipelines/{pipeline}/executions/{execution}/cancel");
    call(&admin, "POST", &cancel, None).await;
    let expected: Vec<(&str, String)> = EXPECTED.iter().map(|(r, c)| (*r, (*c).to_owned())).collect();
    assert_eq!(seen, expected, "measured:\n{}", table.join("\n"));
}

/// The round trips of the worker's path for one prompt's task (the `local` provider), as
/// `task-worker` logs them per batch when it counts (`MCPFLOW_COUNT_CALLS=1`): its start (`UpdateItem`),
/// the tenant's counters on a first start (`UpdateItem`), the context read (`Query`), the finish with
/// its counters and the reply node (`TransactWriteItems`), and the one `completed` update's
/// subscribers of its two topics (`task:` and `context:`, a `Query` each), both kept for catch-up in
/// one `BatchWriteItem`; with `MetricsFlushSeconds=0`, as here, also three metrics samples (the queue
/// wait, the task's outcome, the invocation) of two buckets each (`UpdateItem`) and the task's two log
/// events, started and completed (a `BatchWriteItem` each), which a deployment writes together every
/// 5 s instead.
const WORKER_PATH: &str =
    "DynamoDB.BatchWriteItem=3,DynamoDB.Query=3,DynamoDB.TransactWriteItems=1,DynamoDB.UpdateItem=8";

/// The AWS calls `task-worker` logged for a batch of this one task alone; `None` when the task ran in
/// a batch with others (other tests' prompts share the queues) or the line is not there yet.
fn worker_calls_alone(task: &str) -> Option<String> {
    let run = std::env::var("MCPFLOW_RUN").expect("make test exports MCPFLOW_RUN");
    let log = std::fs::read_to_string(format!("{run}/gateway.log")).expect("the gateway's log");
    let alone = format!("tasks=[\"{task}\"]");
    log.lines()
        .filter(|line| line.contains(task))
        .map(strip_ansi)
        .filter(|line| line.contains("the batch's AWS round trips") && line.contains(&alone))
        .find_map(|line| {
            let calls = line.split("aws_calls=").nth(1)?;
            Some(calls.split_whitespace().next()?.to_owned())
        })
}

/// A log line without its terminal colours.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_prompts_task_makes_exactly_its_counted_round_trips_in_the_worker() {
    let caller = bearer(&jwt(&fresh_tenant("trips-worker"), "operator", &json!({}), &secret()));
    let (status, made, _) = call(&caller, "POST", "/api/v1/mcp/contexts", None).await;
    assert_eq!(status, 201, "{made}");
    let context = made["context_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/mcp/contexts/{context}/prompt");
    // A batch can hold other tests' tasks: ask again until one ran alone (each try is one prompt).
    for attempt in 1..=5 {
        let (status, asked, _) = call(&caller, "POST", &path, Some(&json!({"prompt": "hi"}))).await;
        assert_eq!(status, 202, "{asked}");
        let task = asked["task_id"].as_str().unwrap().to_owned();
        let done = crate::conversation::finished(&caller, &task).await;
        assert_eq!(done["status"], "completed", "{done}");
        // The worker logs its batch after it answers its last task's update.
        for _ in 0..50 {
            if let Some(calls) = worker_calls_alone(&task) {
                assert_eq!(
                    calls, WORKER_PATH,
                    "the worker's round trips for {task} (try {attempt})"
                );
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    panic!("in 5 prompts, none ran in a batch of its own with its calls logged");
}
