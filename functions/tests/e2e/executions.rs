//! Pipeline executions on the local stack: Step Functions (moto's interpreter) runs the generic
//! pipeline state machine, stage-dispatcher hands stages to agents, and agents speak the agent
//! protocol over real HTTP. Reference agents (`clients/agent`) run the brief's pipeline; hand-driven
//! agents fail once, go quiet, or are cancelled under.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcpflow_agent::run::{serve, Options};
use mcpflow_agent::storage::Storage;
use mcpflow_agent::{Agent, Report};
use serde_json::{json, Value};

use crate::auth_matrix::{jwt, secret};
use crate::helpers::{fresh_tenant, gateway_url, remember_secret, Credential};
use crate::websocket::{connect_with, first_subscribe, next};

fn admin_of(tenant: &str) -> Credential {
    let token = jwt(tenant, "admin", &json!({}), &secret());
    remember_secret(&token);
    ("authorization", format!("Bearer {token}"))
}

async fn agent(admin: &Credential, name: &str, capabilities: &[&str]) -> Agent {
    let caps: Vec<String> = capabilities.iter().map(|c| (*c).to_owned()).collect();
    Agent::register(&gateway_url(), (admin.0, &admin.1), name, &caps)
        .await
        .unwrap()
}

/// S3 on the local stack (moto, path-style addresses).
async fn storage() -> Storage {
    Storage::from_env(true).await
}

/// Reference agents, one per stage type, serving until the test ends.
async fn reference_agents(agents: Vec<Agent>) -> Arc<AtomicBool> {
    let storage = storage().await;
    let stop = Arc::new(AtomicBool::new(false));
    let options = Options {
        heartbeat_every: Duration::from_secs(1),
        claim_wait_secs: 20,
        progress_every: Duration::from_secs(1),
    };
    for a in agents {
        tokio::spawn(serve(a, Some(storage.clone()), options, stop.clone()));
    }
    stop
}

async fn define(admin: &Credential, body: &Value) -> String {
    let (status, made) = crate::conversation::post(admin, "/api/v1/pipelines", body).await;
    assert_eq!(status, 201, "{made}");
    made["pipeline_id"].as_str().unwrap().to_owned()
}

async fn execute(admin: &Credential, pipeline: &str, body: &Value) -> Value {
    let (status, started) =
        crate::conversation::post(admin, &format!("/api/v1/pipelines/{pipeline}/execute"), body).await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["status"], "running", "{started}");
    started
}

/// Polls the execution until `done` holds for it, for at most `limit`.
async fn until(
    admin: &Credential,
    pipeline: &str,
    execution: &str,
    limit: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let path = format!("/api/v1/pipelines/{pipeline}/executions/{execution}");
    let started = Instant::now();
    loop {
        let (status, read) = crate::conversation::get(admin, &path).await;
        assert_eq!(status, 200, "{read}");
        if done(&read) {
            return read;
        }
        assert!(started.elapsed() < limit, "not there after {limit:?}: {read}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn ended(e: &Value) -> bool {
    e["status"] != "running"
}

/// A listener for webhooks: every request's headers and body.
async fn webhook_listener() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<(axum::http::HeaderMap, String)>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let hook = move |headers: axum::http::HeaderMap, body: String| {
        let tx = tx.clone();
        async move {
            let _ = tx.send((headers, body));
            "ok"
        }
    };
    let app = axum::Router::new().route("/hook", axum::routing::post(hook));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

fn brief() -> Value {
    let event: Value = serde_json::from_str(include_str!("../../../events/pipelines-create/brief.json")).unwrap();
    serde_json::from_str(event["body"].as_str().unwrap()).unwrap()
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn six_reference_agents_run_the_briefs_pipeline_and_the_webhook_gets_a_signed_notification() {
    // GIVEN the brief's six-stage pipeline and one reference agent per stage type
    let admin = admin_of(&fresh_tenant("runs"));
    let pipeline = define(&admin, &brief()).await;
    let types = shared::pipelines::definition::STAGE_TYPES;
    let mut agents = Vec::new();
    for t in types {
        agents.push(agent(&admin, &format!("ref-{t}"), &[t]).await);
    }
    let stop = reference_agents(agents).await;
    // AND a listener for the notification, and a WebSocket subscriber to the pipeline
    let (hook, mut notifications) = webhook_listener().await;
    let mut watcher = connect_with(Some((admin.0, &admin.1)), "").await.unwrap();
    let subscribed = first_subscribe(&mut watcher, &format!("pipeline:{pipeline}")).await;
    assert!(subscribed["result"]["subscribed"].is_array(), "{subscribed}");
    // WHEN it runs, with records inline and a webhook
    let started = Instant::now();
    let body = json!({"input_data": {"source": "inline", "records": [{" Name ": " ada ", "Qty": 2}, {"name": "bob", "qty": 3}]},
        "parameters": {"batch_size": 100, "parallel_workers": 2}, "notification": {"webhook": hook, "email": "ops@example.com"}});
    let run = execute(&admin, &pipeline, &body).await;
    let secret = run["notification"]["signing_secret"].as_str().unwrap().to_owned();
    remember_secret(&secret);
    let id = run["execution_id"].as_str().unwrap();
    // THEN it succeeds, every stage completed once, progress 1.0
    let done = until(&admin, &pipeline, id, Duration::from_secs(90), ended).await;
    let wall = started.elapsed();
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["progress"], json!(1.0));
    assert_eq!(done["completed_stages"].as_array().unwrap().len(), 6, "{done}");
    assert!(done["stages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["attempts"] == 1 && s["agent_id"].is_string()));
    // AND the outputs are chained: each stage's input was the one before's output
    let out = |i: usize| done["stages"][i]["output"].clone();
    assert_eq!(out(0)["count"], 2, "{done}");
    assert_eq!(
        out(1)["records"][0],
        json!({" name ": "ada", "qty": 2}),
        "transformation ran on what ingestion returned"
    );
    assert!(
        out(2)["summary"].as_str().unwrap().contains("2 record"),
        "analysis asked the LLM about 2 records: {}",
        out(2)
    );
    assert_eq!(out(4)["totals"]["qty"], json!(5.0));
    assert_eq!(out(5)["written"], 2);
    assert_eq!(
        out(5)["result"]["summary"],
        out(2)["summary"],
        "output carries what analysis found"
    );
    // AND a stage's task is a task like any other, read by the brief's path
    let task_id = done["stages"][3]["task_id"].as_str().unwrap();
    let (status, task) = crate::conversation::get(&admin, &format!("/api/v1/tasks/{task_id}")).await;
    assert_eq!(status, 200, "{task}");
    assert_eq!(
        (
            task["type"].as_str(),
            task["status"].as_str(),
            task["pipeline_id"].as_str(),
            task["stage"].as_str()
        ),
        (
            Some("pipeline.stage"),
            Some("completed"),
            Some(pipeline.as_str()),
            Some("data-validation")
        )
    );
    assert_eq!(task["assigned_agent"], done["stages"][3]["agent_id"]);
    // AND the webhook got the ended execution, signed over its timestamp and body with the secret
    let (headers, notified) = tokio::time::timeout(Duration::from_secs(15), notifications.recv())
        .await
        .unwrap()
        .unwrap();
    let timestamp: i64 = headers["x-mcpflow-timestamp"].to_str().unwrap().parse().unwrap();
    let signature = headers["x-mcpflow-signature"].to_str().unwrap();
    assert_eq!(
        signature,
        shared::pipelines::webhook::signature(&secret, timestamp, notified.as_bytes())
    );
    assert_ne!(
        signature,
        shared::pipelines::webhook::signature("another secret", timestamp, notified.as_bytes())
    );
    let notified: Value = serde_json::from_str(&notified).unwrap();
    assert_eq!(
        (notified["execution_id"].as_str(), notified["status"].as_str()),
        (Some(id), Some("succeeded"))
    );
    assert!(
        notified["notification"].get("secret").is_none(),
        "the secret is never sent: {notified}"
    );
    let delivered = until(&admin, &pipeline, id, Duration::from_secs(10), |e| {
        e["webhook_delivery"].is_object()
    })
    .await;
    assert_eq!(delivered["webhook_delivery"]["delivered"], true, "{delivered}");
    // AND the subscriber heard each stage's progress, ending with the execution's success
    let mut heard = Vec::new();
    loop {
        let event = next(&mut watcher).await;
        assert_eq!(event["event_type"], "pipeline_progress", "{event}");
        assert_eq!(event["data"]["execution_id"], id);
        heard.push(event["data"]["progress"].as_f64().unwrap());
        if event["data"]["status"] == "succeeded" {
            break;
        }
    }
    // (Events of one execution come from several functions at once, so they may arrive out of order.)
    assert_eq!(heard.last(), Some(&1.0), "{heard:?}");
    assert!(
        heard.len() >= 2 && heard.iter().all(|p| (0.0..=1.0).contains(p)),
        "{heard:?}"
    );
    println!("six-stage pipeline with reference agents: {wall:?} from execute to succeeded seen");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// A pipeline of `stages` (name, type) in a chain, each with `extra` fields.
fn chain(name: &str, stages: &[(&str, &str)], extra: &Value) -> Value {
    let stages: Vec<Value> = stages
        .iter()
        .map(|(n, t)| {
            let mut s = json!({"name": n, "type": t});
            s.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            s
        })
        .collect();
    let deps: Vec<Value> = (1..stages.len()).map(|i| json!({"from": i - 1, "to": i})).collect();
    json!({"name": name, "stages": stages, "dependencies": deps})
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_stage_that_fails_once_succeeds_on_its_retry() {
    // GIVEN a one-stage pipeline with one retry, and an agent that fails its first attempt
    let admin = admin_of(&fresh_tenant("retry"));
    let pipeline = define(
        &admin,
        &chain(
            "retry",
            &[("flaky", "processing")],
            &json!({"retry_count": 1, "timeout": 60}),
        ),
    )
    .await;
    let worker = agent(&admin, "flaky", &["processing"]).await;
    let run = execute(&admin, &pipeline, &json!({"input_data": {"n": 1}})).await;
    let id = run["execution_id"].as_str().unwrap();
    let first = worker.next(20).await.unwrap().expect("the first attempt");
    assert_eq!((first.attempts, first.payload["input"].clone()), (1, json!({"n": 1})));
    let (status, failed) = crate::helpers::send_json(
        worker
            .request(reqwest::Method::POST, &format!("/api/v1/tasks/{}/fail", first.task_id))
            .json(&json!({"error": "the source was busy", "attempt": 1})),
    )
    .await;
    // THEN the task waits for its retry, saying why its attempt failed
    assert_eq!(
        (status, failed["status"].as_str(), failed["error"].as_str()),
        (200, Some("retrying"), Some("the source was busy")),
        "{failed}"
    );
    // WHEN the retry comes (after the backoff) and succeeds
    let second = worker.next(20).await.unwrap().expect("the retry");
    assert_eq!(second.attempts, 2);
    assert_eq!(second.task_id, first.task_id, "the stage is one task over its attempts");
    // AND a late report on the first attempt is refused, not taken as the second's
    assert_eq!(
        worker.fail(&first, "late").await.unwrap(),
        Report::Stop("TASK_ATTEMPT_OVER".into())
    );
    worker.heartbeat(0.0).await.unwrap();
    assert_eq!(
        worker.complete(&second, &json!({"ok": true})).await.unwrap(),
        Report::Accepted
    );
    // THEN the execution succeeds after 2 attempts, and so does the task
    let done = until(&admin, &pipeline, id, Duration::from_secs(30), ended).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        (
            done["stages"][0]["attempts"].as_u64(),
            done["stages"][0]["output"].clone()
        ),
        (Some(2), json!({"ok": true}))
    );
    let (_, task) = crate::conversation::get(&admin, &format!("/api/v1/tasks/{}", first.task_id)).await;
    assert_eq!(
        (
            task["status"].as_str(),
            task["attempts"].as_u64(),
            task["error"].clone()
        ),
        (Some("completed"), Some(2), Value::Null),
        "{task}"
    );
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn an_agent_that_goes_quiet_times_out_and_the_retry_goes_to_another_agent() {
    // GIVEN a stage with a 3 s heartbeat and one retry, and an agent that claims it and goes quiet
    let admin = admin_of(&fresh_tenant("quiet"));
    let body = chain(
        "quiet",
        &[("crunch", "analysis")],
        &json!({"retry_count": 1, "timeout": 60, "heartbeat": 3}),
    );
    let pipeline = define(&admin, &body).await;
    let quiet = agent(&admin, "quiet", &["analysis"]).await;
    let run = execute(&admin, &pipeline, &json!({"input_data": {"records": []}})).await;
    let id = run["execution_id"].as_str().unwrap();
    let claimed = quiet.next(20).await.unwrap().expect("the first attempt");
    // AND a second capable agent that keeps heartbeating (the test stack makes an agent stale after 3 s)
    let standby = agent(&admin, "standby", &["analysis"]).await;
    let beating = mcpflow_agent::run::heartbeats(
        standby.clone(),
        Arc::new(AtomicBool::new(false)),
        Duration::from_secs(1),
    );
    // WHEN no progress comes for the heartbeat's 3 s, the attempt times out and is retried
    let retry = standby.next(20).await.unwrap().expect("the retry, on the other agent");
    assert_eq!(retry.attempts, 2);
    // THEN the quiet agent is told to stop, and the other one completes the stage
    assert_eq!(
        retry.task_id, claimed.task_id,
        "the stage is one task over its attempts"
    );
    let told = quiet.progress(&claimed, 0.5, &[]).await.unwrap();
    assert_eq!(told, Report::Stop("TASK_ATTEMPT_OVER".into()));
    assert_eq!(
        standby.complete(&retry, &json!({"summary": "none"})).await.unwrap(),
        Report::Accepted
    );
    let done = until(&admin, &pipeline, id, Duration::from_secs(30), ended).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["stages"][0]["agent_id"].as_str(), Some(standby.agent_id.as_str()));
    beating.abort();
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_stage_no_agent_can_run_times_out_and_fails_the_execution_naming_it() {
    // GIVEN a pipeline whose second stage no agent of the tenant can run (3 s timeout)
    let admin = admin_of(&fresh_tenant("orphan"));
    let body = chain(
        "orphan",
        &[("ingest", "data-ingestion"), ("check", "validation")],
        &json!({"timeout": 3}),
    );
    let pipeline = define(&admin, &body).await;
    let stop = reference_agents(vec![agent(&admin, "ingest", &["data-ingestion"]).await]).await;
    // WHEN it runs
    let run = execute(&admin, &pipeline, &json!({"input_data": {"records": [{"a": 1}]}})).await;
    let id = run["execution_id"].as_str().unwrap();
    // THEN the stage waits for a capable agent until its timeout, and the execution fails naming it
    let done = until(&admin, &pipeline, id, Duration::from_secs(40), ended).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["stage"], "check", "{done}");
    assert!(
        done["error"]["message"].as_str().unwrap().contains("States.Timeout"),
        "{done}"
    );
    assert_eq!(
        (
            done["stages"][0]["status"].as_str(),
            done["stages"][1]["status"].as_str()
        ),
        (Some("completed"), Some("failed"))
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_cancelled_execution_ends_every_stage_cancelled_and_its_agent_is_told_to_stop() {
    // GIVEN a two-stage pipeline whose first stage an agent is working on
    let admin = admin_of(&fresh_tenant("cancel"));
    let pipeline = define(
        &admin,
        &chain(
            "cancel",
            &[("long", "processing"), ("after", "output")],
            &json!({"timeout": 120}),
        ),
    )
    .await;
    let worker = agent(&admin, "worker", &["processing"]).await;
    let run = execute(&admin, &pipeline, &json!({})).await;
    let id = run["execution_id"].as_str().unwrap();
    let task = worker.next(20).await.unwrap().expect("the first stage");
    assert_eq!(
        worker.progress(&task, 0.2, &["working".into()]).await.unwrap(),
        Report::Accepted
    );
    // AND the stage's task cannot be cancelled on its own, only with its execution
    let path = format!("/api/v1/mcp/tasks/{}/cancel", task.task_id);
    let (status, refused) = crate::conversation::post(&admin, &path, &json!({})).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("TASK_IS_A_STAGE")),
        "{refused}"
    );
    // WHEN the execution is cancelled mid-run
    let path = format!("/api/v1/pipelines/{pipeline}/executions/{id}/cancel");
    let (status, cancelled) = crate::conversation::post(&admin, &path, &json!({})).await;
    assert_eq!(status, 200, "{cancelled}");
    // THEN it and every stage end cancelled, the running task too, and the agent is told to stop
    assert_eq!(cancelled["status"], "cancelled");
    let statuses: Vec<&str> = cancelled["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["cancelled", "cancelled"]);
    assert_eq!(
        worker.progress(&task, 0.4, &[]).await.unwrap(),
        Report::Stop("TASK_CANCELLED".into())
    );
    let (_, read) = crate::conversation::get(&admin, &format!("/api/v1/tasks/{}", task.task_id)).await;
    assert_eq!(read["status"], "cancelled", "{read}");
    // AND cancelling again is a conflict, and the execution stays cancelled
    let (status, again) = crate::conversation::post(&admin, &path, &json!({})).await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("EXECUTION_FINISHED"))
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, read) = crate::conversation::get(&admin, &format!("/api/v1/pipelines/{pipeline}/executions/{id}")).await;
    assert_eq!(read["status"], "cancelled", "{read}");
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_pipelines_executions_list_newest_first_a_page_at_a_time_and_only_to_their_tenant() {
    // GIVEN a pipeline no agent can run, executed three times (each then cancelled), and an unrun one
    let admin = admin_of(&fresh_tenant("listing"));
    let pipeline = define(
        &admin,
        &chain("listed", &[("only", "analysis")], &json!({"timeout": 60})),
    )
    .await;
    let idle = define(&admin, &chain("idle", &[("only", "analysis")], &json!({}))).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let run = execute(&admin, &pipeline, &json!({"input_data": {"run": i}})).await;
        ids.push(run["execution_id"].as_str().unwrap().to_owned());
    }
    let cancel = format!("/api/v1/pipelines/{pipeline}/executions/{}/cancel", ids[0]);
    let (status, cancelled) = crate::conversation::post(&admin, &cancel, &json!({})).await;
    assert_eq!(status, 200, "{cancelled}");
    // WHEN the list is read two at a time
    let list = format!("/api/v1/pipelines/{pipeline}/executions");
    let (status, first) = crate::conversation::get(&admin, &format!("{list}?limit=2")).await;
    assert_eq!(status, 200, "{first}");
    let cursor = first["next_cursor"].as_str().expect("a second page").to_owned();
    let (status, second) = crate::conversation::get(&admin, &format!("{list}?limit=2&cursor={cursor}")).await;
    assert_eq!(status, 200, "{second}");
    // THEN every execution comes once, newest first, with its state and stages but not its input
    let listed: Vec<&Value> = first["executions"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["executions"].as_array().unwrap())
        .collect();
    let listed_ids: Vec<&str> = listed.iter().map(|e| e["execution_id"].as_str().unwrap()).collect();
    assert_eq!(listed_ids, [&ids[2], &ids[1], &ids[0]].map(String::as_str));
    assert_eq!(second["next_cursor"], Value::Null, "{second}");
    assert_eq!(listed[2]["status"], "cancelled", "the cancel shows: {}", listed[2]);
    assert_eq!(listed[0]["status"], "running");
    assert_eq!(listed[0]["stages"][0]["name"], "only");
    assert!(listed[0].get("input_data").is_none(), "{}", listed[0]);
    // AND an unrun pipeline lists nothing; a bad limit or cursor is a 400 naming it
    let (status, none) = crate::conversation::get(&admin, &format!("/api/v1/pipelines/{idle}/executions")).await;
    assert_eq!((status, none["executions"].clone()), (200, json!([])), "{none}");
    for (query, code) in [
        ("limit=0", "INVALID_LIMIT"),
        ("limit=101", "INVALID_LIMIT"),
        ("cursor=nope", "INVALID_CURSOR"),
    ] {
        let (status, refused) = crate::conversation::get(&admin, &format!("{list}?{query}")).await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (400, Some(code)),
            "{query}: {refused}"
        );
    }
    // AND another tenant's admin is told the pipeline does not exist, as for an unknown one
    let stranger = admin_of(&fresh_tenant("stranger"));
    for path in [
        list.clone(),
        "/api/v1/pipelines/pln_0000000000000000000000000001/executions".into(),
    ] {
        let (status, hidden) = crate::conversation::get(&stranger, &path).await;
        assert_eq!(
            (status, hidden["error"]["code"].as_str()),
            (404, Some("PIPELINE_NOT_FOUND")),
            "{hidden}"
        );
    }
    for id in &ids[1..] {
        let cancel = format!("/api/v1/pipelines/{pipeline}/executions/{id}/cancel");
        crate::conversation::post(&admin, &cancel, &json!({})).await;
    }
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn only_the_assigned_agent_touches_a_task_and_another_tenant_sees_no_execution() {
    // GIVEN a running execution whose stage an agent claimed
    let tenant = fresh_tenant("owner");
    let admin = admin_of(&tenant);
    let pipeline = define(&admin, &chain("own", &[("only", "analysis")], &json!({"timeout": 60}))).await;
    let owner = agent(&admin, "owner", &["analysis"]).await;
    let other = agent(&admin, "other", &["output"]).await;
    let run = execute(&admin, &pipeline, &json!({})).await;
    let id = run["execution_id"].as_str().unwrap();
    let task = owner.next(20).await.unwrap().expect("the stage");
    // WHEN another agent of the tenant, the admin, or another tenant's admin reports on it
    let (status, refused) = crate::helpers::send_json(
        other
            .request(
                reqwest::Method::POST,
                &format!("/api/v1/tasks/{}/complete", task.task_id),
            )
            .json(&json!({"output": 1})),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("NOT_YOUR_TASK")),
        "{refused}"
    );
    let (status, _) = crate::conversation::post(
        &admin,
        &format!("/api/v1/tasks/{}/complete", task.task_id),
        &json!({"output": 1}),
    )
    .await;
    assert_eq!(status, 403, "only an agent's token reports");
    let stranger = admin_of(&fresh_tenant("stranger"));
    let (status, unknown) =
        crate::conversation::get(&stranger, &format!("/api/v1/pipelines/{pipeline}/executions/{id}")).await;
    assert_eq!(
        (status, unknown["error"]["code"].as_str()),
        (404, Some("EXECUTION_NOT_FOUND"))
    );
    // AND an agent cannot claim as another agent
    let (status, _) = crate::helpers::send_json(other.request(
        reqwest::Method::GET,
        &format!("/api/v1/agents/{}/tasks/next?wait=0", owner.agent_id),
    ))
    .await;
    assert_eq!(status, 403);
    // THEN the owner still completes it
    assert_eq!(owner.complete(&task, &json!("fine")).await.unwrap(), Report::Accepted);
    let done = until(&admin, &pipeline, id, Duration::from_secs(30), ended).await;
    assert_eq!(done["status"], "succeeded", "{done}");
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn reference_agents_read_their_input_from_s3_and_write_the_result_there() {
    // GIVEN a CSV object in S3 (moto locally) and a pipeline that ingests it and writes its output
    let admin = admin_of(&fresh_tenant("s3run"));
    let bucket = fresh_tenant("data").replace('_', "-");
    let s3 = storage().await;
    s3.client().create_bucket().bucket(&bucket).send().await.unwrap();
    s3.put(
        &format!("s3://{bucket}/in/orders.csv"),
        b"name;qty\nada;2\nbob;3\ncy;5\n".to_vec(),
    )
    .await
    .unwrap();
    let body = chain(
        "s3",
        &[("ingest", "data-ingestion"), ("write", "output")],
        &json!({"timeout": 60}),
    );
    let pipeline = define(&admin, &body).await;
    let stop = reference_agents(vec![
        agent(&admin, "ingest", &["data-ingestion"]).await,
        agent(&admin, "write", &["output"]).await,
    ])
    .await;
    // WHEN it runs with the object as its source and a destination in the same bucket
    let destination = format!("s3://{bucket}/out/result.json");
    let run = execute(
        &admin,
        &pipeline,
        &json!({"input_data": {"source": format!("s3://{bucket}/in/orders.csv")},
        "parameters": {"delimiter": ";", "destination": destination}}),
    )
    .await;
    let id = run["execution_id"].as_str().unwrap();
    let done = until(&admin, &pipeline, id, Duration::from_secs(60), ended).await;
    // THEN the records came from the object, and the result is in S3
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["stages"][0]["output"]["count"], 3, "{done}");
    assert_eq!(done["stages"][1]["output"]["destination"], destination.as_str());
    let written: Value = serde_json::from_slice(&s3.get(&destination).await.unwrap()).unwrap();
    assert_eq!(written["records"][2], json!({"name": "cy", "qty": 5.0}), "{written}");
    // AND a source that does not exist fails the ingestion with its name
    let missing = format!("s3://{bucket}/in/missing.csv");
    let run = execute(&admin, &pipeline, &json!({"input_data": {"source": missing}})).await;
    let id = run["execution_id"].as_str().unwrap();
    let failed = until(&admin, &pipeline, id, Duration::from_secs(60), ended).await;
    assert_eq!(
        (failed["status"].as_str(), failed["error"]["stage"].as_str()),
        (Some("failed"), Some("ingest")),
        "{failed}"
    );
    assert!(
        failed["error"]["message"].as_str().unwrap().contains("missing.csv"),
        "{failed}"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_stage_waits_for_a_full_agent_with_its_heartbeat_kept_and_then_runs_on_it() {
    // GIVEN two independent stages of one type (4 s heartbeat) and a single agent for them
    let admin = admin_of(&fresh_tenant("full"));
    let body = json!({"name": "pair", "stages": [{"name": "left", "type": "processing", "timeout": 60, "heartbeat": 4},
        {"name": "right", "type": "processing", "timeout": 60, "heartbeat": 4}]});
    let pipeline = define(&admin, &body).await;
    let worker = agent(&admin, "only", &["processing"]).await;
    let run = execute(&admin, &pipeline, &json!({"input_data": {"n": 1}})).await;
    let id = run["execution_id"].as_str().unwrap();
    // WHEN the agent claims one, says it is full, and works on it for longer than a heartbeat
    let first = worker.next(20).await.unwrap().expect("one of the two stages");
    worker.heartbeat(1.0).await.unwrap();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(worker.progress(&first, 0.5, &[]).await.unwrap(), Report::Accepted);
    }
    // THEN the other stage waited for an agent (not in the full agent's inbox), its attempt alive
    let (_, read) = crate::conversation::get(&admin, &format!("/api/v1/pipelines/{pipeline}/executions/{id}")).await;
    let other = if first.stage == "left" { 1 } else { 0 };
    assert_eq!(read["stages"][other]["status"], "pending", "{read}");
    // AND once the agent is free it runs it as the same, first attempt
    assert_eq!(worker.complete(&first, &json!(1)).await.unwrap(), Report::Accepted);
    worker.heartbeat(0.0).await.unwrap();
    let second = worker.next(20).await.unwrap().expect("the other stage");
    assert_ne!(second.stage, first.stage);
    assert_eq!(second.attempts, 1, "its wait did not time it out");
    assert_eq!(worker.complete(&second, &json!(2)).await.unwrap(), Report::Accepted);
    let done = until(&admin, &pipeline, id, Duration::from_secs(30), ended).await;
    assert_eq!(done["status"], "succeeded", "{done}");
}

/// Reads a task until `done` holds (30 s at most).
async fn task_until(admin: &Credential, task_id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, task) = crate::conversation::get(admin, &format!("/api/v1/tasks/{task_id}")).await;
        assert_eq!(status, 200, "{task}");
        if done(&task) || tokio::time::Instant::now() > deadline {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_submitted_task_runs_one_stage_on_its_own_and_keeps_its_id_over_its_retry() {
    // GIVEN the brief's six-stage pipeline and one agent that runs its analysis stage
    let admin = admin_of(&fresh_tenant("submit"));
    let pipeline = define(&admin, &brief()).await;
    let worker = agent(&admin, "analyst", &["analysis"]).await;
    // WHEN a caller submits the brief's task body for the analysis stage, with one retry
    let body = json!({"pipeline_id": pipeline, "stage": 2, "type": "analysis",
        "payload": {"records": [1, 2]}, "priority": "high", "timeout": 60, "retry_count": 1});
    let (status, task) = crate::conversation::post(&admin, "/api/v1/tasks", &body).await;
    assert_eq!(status, 202, "{task}");
    assert_eq!(
        (
            task["status"].as_str(),
            task["type"].as_str(),
            task["priority"].as_u64(),
            task["stage"].as_str(),
            task["assigned_agent"].clone()
        ),
        (
            Some("pending"),
            Some("pipeline.stage"),
            Some(8),
            Some("data-analysis"),
            Value::Null
        ),
        "{task}"
    );
    let id = task["task_id"].as_str().unwrap();
    // THEN the agent gets that stage with the payload as its input
    let first = worker.next(20).await.unwrap().expect("the first attempt");
    assert_eq!(
        (
            first.task_id.as_str(),
            first.stage_type.as_str(),
            first.payload["input"].clone()
        ),
        (id, "analysis", json!({"records": [1, 2]}))
    );
    let (_, running) = crate::conversation::get(&admin, &format!("/api/v1/tasks/{id}")).await;
    assert_eq!(
        (running["status"].as_str(), running["assigned_agent"].as_str()),
        (Some("running"), Some(worker.agent_id.as_str()))
    );
    // AND its failed first attempt is retried as the same task, which then completes, keeping the
    // first attempt's log line
    assert_eq!(
        worker.progress(&first, 0.3, &["reading".into()]).await.unwrap(),
        Report::Accepted
    );
    assert_eq!(worker.fail(&first, "busy").await.unwrap(), Report::Accepted);
    let second = worker.next(20).await.unwrap().expect("the retry");
    assert_eq!((second.task_id.as_str(), second.attempts), (id, 2));
    worker.heartbeat(0.0).await.unwrap();
    let output = json!({"summary": "two records"});
    assert_eq!(worker.complete(&second, &output).await.unwrap(), Report::Accepted);
    let done = task_until(&admin, id, |t| t["status"] == "completed").await;
    assert_eq!(
        (
            done["status"].as_str(),
            done["attempts"].as_u64(),
            done["result"].clone(),
            done["progress"].as_f64()
        ),
        (Some("completed"), Some(2), output, Some(1.0)),
        "{done}"
    );
    assert_eq!(
        (done["logs"][0]["level"].as_str(), done["logs"][0]["message"].as_str()),
        (Some("info"), Some("reading")),
        "{done}"
    );
    assert!(done["logs"][0]["timestamp"].is_string(), "{done}");
    // AND its execution ran that one stage and succeeded
    let exe = done["execution_id"].as_str().unwrap();
    let run = until(&admin, &pipeline, exe, Duration::from_secs(30), ended).await;
    assert_eq!(
        (
            run["status"].as_str(),
            run["stages"].as_array().map(Vec::len),
            run["submitted_task"].as_str()
        ),
        (Some("succeeded"), Some(1), Some(id)),
        "{run}"
    );
    // AND a wrong type or stage is a 400 naming the field, another tenant's pipeline a 404
    for (wrong, field) in [
        (json!({"pipeline_id": pipeline, "stage": 2, "type": "output"}), "type"),
        (json!({"pipeline_id": pipeline, "stage": 6}), "stage"),
        (json!({"pipeline_id": pipeline, "stage": "nowhere"}), "stage"),
    ] {
        let (status, refused) = crate::conversation::post(&admin, "/api/v1/tasks", &wrong).await;
        assert_eq!(
            (status, refused["error"]["details"]["field"].as_str()),
            (400, Some(field)),
            "{refused}"
        );
    }
    let stranger = admin_of(&fresh_tenant("stranger"));
    let (status, refused) = crate::conversation::post(
        &stranger,
        "/api/v1/tasks",
        &json!({"pipeline_id": pipeline, "stage": 0}),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (404, Some("PIPELINE_NOT_FOUND")),
        "{refused}"
    );
}
