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
    ("POST /api/v1/mcp/contexts", "DynamoDB.GetItem=1,DynamoDB.TransactWriteItems=2"),
    ("POST /api/v1/mcp/contexts/{id}/prompt", "DynamoDB.TransactWriteItems=1,DynamoDB.UpdateItem=1,SQS.SendMessage=1"),
    ("GET /api/v1/mcp/tasks/{id}", "DynamoDB.GetItem=1"),
    ("GET /api/v1/mcp/contexts/{id}", "DynamoDB.Query=1"),
    ("GET /api/v1/mcp/contexts", "DynamoDB.Query=1"),
    ("GET /api/v1/mcp/tasks", "DynamoDB.Query=1"),
    ("POST /api/v1/tools", "DynamoDB.GetItem=1,DynamoDB.PutItem=1,DynamoDB.Query=1,DynamoDB.TransactWriteItems=2"),
    ("GET /api/v1/tools", "DynamoDB.Query=1"),
    ("POST /api/v1/pipelines", "DynamoDB.TransactWriteItems=1"),
    ("GET /api/v1/pipelines/{id}", "DynamoDB.GetItem=1"),
    ("POST /api/v1/pipelines/{id}/execute", "DynamoDB.BatchWriteItem=1,DynamoDB.GetItem=2,DynamoDB.PutItem=2,DynamoDB.Query=1,StepFunctions.StartExecution=1"),
    ("GET /api/v1/pipelines/{id}/executions/{id}", "DynamoDB.GetItem=1"),
    ("GET /api/v1/pipelines/{id}/executions", "DynamoDB.Query=1"),
    ("POST /api/v1/agents/register", "DynamoDB.BatchWriteItem=1,DynamoDB.PutItem=1,DynamoDB.Query=2,DynamoDB.TransactWriteItems=1"),
    ("GET /api/v1/agents", "DynamoDB.Query=1"),
    ("POST /api/v1/agents/{id}/heartbeat", "DynamoDB.BatchWriteItem=1,DynamoDB.GetItem=1,DynamoDB.Query=1,DynamoDB.UpdateItem=1"),
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
