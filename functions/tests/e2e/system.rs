//! `GET /api/v1/summary` and `GET /api/v1/metrics` on the local stack: a fresh tenant's counts after
//! it made a context, a prompt, a tool, a pipeline and an agent; another tenant's zeros; the figures
//! its requests left, as JSON and as Prometheus text; samples a function kept, written added up to
//! the real table in one write per bucket.

use serde_json::{json, Value};

use crate::auth_matrix::{bearer, jwt, secret};
use crate::conversation::{finished, get, post};
use crate::helpers::{fresh_tenant, gateway_url, http, tool_endpoint, Credential};

fn caller(tenant: &str, role: &str) -> Credential {
    bearer(&jwt(tenant, role, &json!({}), &secret()))
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn the_summary_counts_what_the_tenant_made_and_nothing_of_another_tenants() {
    // GIVEN a fresh tenant with a context answered once, a tool, a pipeline and an agent
    let tenant = fresh_tenant("summary");
    let admin = caller(&tenant, "admin");
    let (status, made) = post(&admin, "/api/v1/mcp/contexts", &json!({})).await;
    assert_eq!(status, 201, "{made}");
    let context = made["context_id"].as_str().unwrap().to_owned();
    let (status, asked) = post(
        &admin,
        &format!("/api/v1/mcp/contexts/{context}/prompt"),
        &json!({"prompt": "hi"}),
    )
    .await;
    assert_eq!(status, 202, "{asked}");
    assert_eq!(
        finished(&admin, asked["task_id"].as_str().unwrap()).await["status"],
        "completed"
    );
    let tool = json!({"name": "weather", "description": "Weather by city", "endpoint": tool_endpoint(),
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}});
    assert_eq!(post(&admin, "/api/v1/tools", &tool).await.0, 201);
    let pipeline = json!({"name": "one", "stages": [{"name": "only", "type": "analysis"}]});
    assert_eq!(post(&admin, "/api/v1/pipelines", &pipeline).await.0, 201);
    let integration = json!({"name": "i", "model": {"provider": "local", "provider_model": "echo"}});
    assert_eq!(post(&admin, "/api/v1/integrations", &integration).await.0, 201);
    let agent = json!({"name": "a", "type": "worker", "capabilities": ["analysis"]});
    assert_eq!(post(&admin, "/api/v1/agents/register", &agent).await.0, 201);
    // WHEN a viewer of the tenant reads the summary
    let (status, summary) = get(&caller(&tenant, "viewer"), "/api/v1/summary").await;
    // THEN it counts exactly those, with every task finished, and the system's health
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["contexts"], 1, "{summary}");
    let created = summary["tasks"]["tasks_created"].as_i64().unwrap();
    assert!(created >= 1, "{summary}");
    assert_eq!(summary["tasks"]["counts_by_status"]["completed"], created, "{summary}");
    assert_eq!(summary["registered"], json!({"tools": 1, "prompts": 0, "resources": 0}));
    assert_eq!(
        (&summary["pipelines"], &summary["integrations"]),
        (&json!(1), &json!(1))
    );
    // (The test stack counts an agent stale 3 s after its last heartbeat: it may be either by now.)
    let agents = &summary["agents"];
    assert_eq!(agents["total"], 1, "{summary}");
    assert_eq!(
        agents["active"].as_u64().unwrap() + agents["stale"].as_u64().unwrap(),
        1,
        "{summary}"
    );
    assert_eq!(summary["health"]["status"], "ok", "{summary}");
    // AND another tenant's summary has none of it
    let (status, other) = get(&caller(&fresh_tenant("other"), "viewer"), "/api/v1/summary").await;
    assert_eq!(status, 200, "{other}");
    assert_eq!(
        (
            other["contexts"].clone(),
            other["tasks"]["tasks_created"].clone(),
            other["pipelines"].clone(),
            other["integrations"].clone(),
            other["agents"]["total"].clone()
        ),
        (json!(0), json!(0), json!(0), json!(0), json!(0))
    );
    assert_eq!(other["registered"], json!({"tools": 0, "prompts": 0, "resources": 0}));
}

async fn metrics(caller: &Credential, query: &str, accept: &str) -> (u16, String, String) {
    let answer = http()
        .get(format!("{}/api/v1/metrics{query}", gateway_url()))
        .header(caller.0, &caller.1)
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let kind = answer
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, answer.text().await.unwrap())
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn metrics_count_the_tenants_own_requests_as_json_and_as_prometheus_text() {
    // GIVEN a fresh tenant that read its agents three times and asked for one unknown agent
    let tenant = fresh_tenant("metrics");
    let admin = caller(&tenant, "admin");
    for _ in 0..3 {
        assert_eq!(get(&admin, "/api/v1/agents").await.0, 200);
    }
    assert_eq!(
        get(&admin, "/api/v1/agents/agt_0123456789abcdef0123456789ab").await.0,
        404
    );
    // WHEN it reads its metrics of the last 5 minutes
    let (status, kind, body) = metrics(&admin, "?window=5m", "application/json").await;
    assert_eq!((status, kind.as_str()), (200, "application/json"), "{body}");
    let figures: Value = serde_json::from_str(&body).unwrap();
    // THEN each function it called is there with its exact counts, and the queues (an admin's)
    let function = |name: &str| {
        figures["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["function"] == name)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(function("agents-list")["invocations"], 3, "{figures}");
    assert_eq!(
        (
            function("agents-get")["invocations"].clone(),
            function("agents-get")["client_errors"].clone()
        ),
        (json!(1), json!(1))
    );
    assert!(function("agents-list")["p95_ms"].as_u64().unwrap() > 0);
    assert_eq!(figures["window_minutes"], 5);
    assert!(figures["queues"].as_array().is_some_and(|q| !q.is_empty()), "{figures}");
    // AND as Prometheus text, the same counts
    let (status, kind, text) = metrics(&admin, "?window=1h", "text/plain").await;
    assert_eq!(
        (status, kind.as_str()),
        (200, "text/plain; version=0.0.4; charset=utf-8"),
        "{text}"
    );
    for line in [
        "# TYPE mcpflow_function_invocations gauge",
        "mcpflow_function_invocations{function=\"agents-list\"} 3",
        "mcpflow_function_client_errors{function=\"agents-get\"} 1",
        "# TYPE mcpflow_function_latency_milliseconds summary",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
    }
    // AND a viewer sees no queues, another tenant none of these calls, and a bad window is a 400
    let (_, _, body) = metrics(&caller(&tenant, "viewer"), "", "application/json").await;
    assert!(
        serde_json::from_str::<Value>(&body).unwrap().get("queues").is_none(),
        "{body}"
    );
    let (_, _, body) = metrics(
        &caller(&fresh_tenant("quiet"), "admin"),
        "?window=24h",
        "application/json",
    )
    .await;
    let quiet: Value = serde_json::from_str(&body).unwrap();
    assert!(
        quiet["functions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["function"] == "system-metrics"),
        "{quiet}"
    );
    for bad in ["?window=2d", "?window=0m", "?window=25h", "?window=abc"] {
        let (status, _, body) = metrics(&admin, bad, "application/json").await;
        let refused: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (status, refused["error"]["details"]["field"].as_str()),
            (400, Some("window")),
            "{bad}: {body}"
        );
    }
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn samples_a_function_kept_reach_the_metrics_added_up() {
    // GIVEN a recorder on the real table that keeps its samples for a minute (METRICS_FLUSH_SECS)
    let tenant = fresh_tenant("kept");
    let clients = shared::aws::AwsClients::load().await;
    let stack = std::env::var("STACK_NAME").unwrap_or_else(|_| "mcpflow-local".into());
    let store = shared::metrics::dynamodb::DynamoDbMetrics::new(clients.dynamodb.clone(), format!("{stack}-Table"));
    let recorder = shared::metrics::Recorder::named(std::sync::Arc::new(store), "kept-series")
        .keeping_for(std::time::Duration::from_secs(60));
    // WHEN it takes four samples of different latencies in a burst, one failed
    for (ms, outcome) in [
        (3, shared::metrics::Outcome::Succeeded),
        (40, shared::metrics::Outcome::Succeeded),
        (2_000, shared::metrics::Outcome::Succeeded),
        (9, shared::metrics::Outcome::Failed),
    ] {
        recorder.sample(&tenant, "kept-series", ms, outcome).await;
    }
    let admin = caller(&tenant, "admin");
    let series = |figures: &Value| {
        figures["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["function"] == "kept-series")
            .cloned()
    };
    // THEN the first (a quiet instance's) is in the table at once, the other three are kept
    let (status, _, body) = metrics(&admin, "?window=5m", "application/json").await;
    assert_eq!(status, 200, "{body}");
    let first = series(&serde_json::from_str(&body).unwrap()).unwrap_or_else(|| panic!("{body}"));
    assert_eq!(first["invocations"], 1, "{first}");
    // AND once written (one UpdateItem per bucket, several histogram buckets each), the tenant's
    // metrics count all four, with their percentiles, at both resolutions
    recorder.flush().await;
    for window in ["?window=5m", "?window=24h"] {
        let (status, _, body) = metrics(&admin, window, "application/json").await;
        assert_eq!(status, 200, "{body}");
        let kept = series(&serde_json::from_str(&body).unwrap()).unwrap_or_else(|| panic!("{body}"));
        assert_eq!(
            (
                kept["invocations"].clone(),
                kept["errors"].clone(),
                kept["p95_ms"].clone()
            ),
            (json!(4), json!(1), json!(2_000)),
            "{window}: {kept}"
        );
    }
}
