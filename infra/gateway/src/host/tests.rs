//! The host against a real process speaking the Runtime API (a Python test function).

use std::path::Path;

use serde_json::{json, Value};

use super::*;

fn function(timeout_ms: u64, max_instances: usize) -> HostedFunction {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runtime_function.py");
    HostedFunction {
        name: "fn".into(),
        binary: script,
        env: Vec::new(),
        timeout: Duration::from_millis(timeout_ms),
        max_instances,
        chaos: true,
    }
}

async fn call(host: &FunctionHost, event: Value) -> Result<Value, InvokeError> {
    let answer = host.invoke("fn", event.to_string().into_bytes()).await?;
    Ok(serde_json::from_slice(&answer).unwrap())
}

fn alive(pid: u64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

#[tokio::test]
async fn an_instance_answers_with_the_functions_deadline_and_is_reused() {
    let host = FunctionHost::new(vec![function(5_000, 1)], Chaos::default());
    let before = chrono::Utc::now().timestamp_millis();
    let first = call(&host, json!({})).await.unwrap();
    let second = call(&host, json!({})).await.unwrap();
    assert_eq!(first["pid"], second["pid"], "one warm instance serves both");
    let deadline = first["deadline_ms"].as_i64().unwrap();
    assert!(
        (before + 4_000..before + 7_000).contains(&deadline),
        "{deadline} vs {before}"
    );
}

#[tokio::test]
async fn an_invocation_past_its_timeout_is_killed_and_the_next_gets_a_new_process() {
    let host = FunctionHost::new(vec![function(1_000, 1)], Chaos::default());
    let warm = call(&host, json!({})).await.unwrap()["pid"].as_u64().unwrap();
    let err = call(&host, json!({"sleep": 30})).await.unwrap_err();
    assert!(err.to_string().contains("Task timed out after 1 seconds"), "{err}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!alive(warm), "the timed-out process was killed");
    let next = call(&host, json!({})).await.unwrap()["pid"].as_u64().unwrap();
    assert_ne!(next, warm);
}

#[tokio::test]
async fn no_more_instances_run_at_once_than_the_maximum() {
    let host = Arc::new(FunctionHost::new(vec![function(10_000, 2)], Chaos::default()));
    let calls = (0..6).map(|_| {
        let host = Arc::clone(&host);
        tokio::spawn(async move { call(&host, json!({"sleep": 0.3})).await.unwrap() })
    });
    let answers = futures::future::join_all(calls).await;
    let pids: std::collections::HashSet<u64> = answers
        .iter()
        .map(|a| a.as_ref().unwrap()["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "six calls, two instances");
}

#[tokio::test]
async fn chaos_kills_an_invocation_before_it_answers() {
    let host = FunctionHost::new(vec![function(2_000, 1)], Chaos { kill_rate: 1.0 });
    let err = call(&host, json!({"sleep": 5})).await.unwrap_err();
    assert!(err.to_string().contains("killed"), "{err}");
}

/// An HTTP API whose one route, `GET /slow`, is the test function under the host.
async fn http_api(host: Arc<FunctionHost>) -> String {
    use crate::authorizers::HttpAuth;
    use crate::routes::RouteTable;
    use crate::server::{router, HttpApi};
    use crate::template::{FunctionDef, HttpRoute};
    let route = HttpRoute {
        method: "GET".into(),
        path: "/slow".into(),
        authorizer: None,
    };
    let def = FunctionDef {
        logical_id: "Fn".into(),
        binary: "fn".into(),
        http_routes: vec![route],
        sqs_triggers: vec![],
        schedules: vec![],
    };
    let api = HttpApi {
        routes: RouteTable::new(&[def], None),
        auth: HttpAuth {
            default: None,
            authorizers: std::collections::BTreeMap::new(),
        },
        invoker: Arc::clone(&host),
        timeout: Duration::from_secs(30),
        cors: None,
        urls: vec![crate::template::FunctionUrl {
            binary: "fn".into(),
            path: "/url".into(),
            streaming: true,
        }],
        url_host: Some(Arc::clone(&host)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(Arc::new(api)).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/slow")
}

#[tokio::test]
async fn an_http_function_past_its_timeout_is_killed_and_answered_502_before_the_integration_timeout() {
    // Chaos kills every invocation of the functions it may touch; an HTTP function is not one.
    let http = HostedFunction {
        chaos: false,
        ..function(1_000, 1)
    };
    let host = Arc::new(FunctionHost::new(vec![http], Chaos { kill_rate: 1.0 }));
    let url = http_api(Arc::clone(&host)).await;
    let quick: Value = reqwest::get(format!("{url}?sleep=0"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let warm = quick["pid"].as_u64().unwrap();
    // The function's 1 s Timeout ends it, not the API's 30 s integration timeout (that would be 504).
    let slow = reqwest::get(format!("{url}?sleep=20")).await.unwrap();
    assert_eq!(slow.status(), 502);
    let body: Value = slow.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BAD_GATEWAY", "{body}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!alive(warm), "the timed-out process was killed");
}

#[tokio::test]
async fn a_response_of_several_megabytes_is_taken_as_lambda_takes_up_to_6_mb() {
    let host = Arc::new(FunctionHost::new(vec![function(10_000, 1)], Chaos::default()));
    let url = http_api(host).await;
    let big = reqwest::get(format!("{url}?pad=4000000")).await.unwrap();
    assert_eq!(big.status(), 200);
    let body: Value = big.json().await.unwrap();
    assert_eq!(body["pad"].as_str().map(str::len), Some(4_000_000));
}

#[tokio::test]
async fn a_streaming_function_url_reaches_the_caller_chunk_by_chunk_while_the_function_still_runs() {
    use futures::StreamExt;
    let host = Arc::new(FunctionHost::new(vec![function(30_000, 1)], Chaos::default()));
    let url = http_api(host).await.replace("/slow", "/url");
    let dir = std::env::temp_dir().join(format!("stream-{}", uuid::Uuid::new_v4().simple()));
    let signal = dir.join("go");
    std::fs::create_dir_all(&dir).unwrap();
    let response = reqwest::get(format!("{url}?stream={}", signal.display()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain");
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("first\n") {
        seen.push_str(&String::from_utf8_lossy(&body.next().await.unwrap().unwrap()));
    }
    // The function writes its last chunk only once this file exists: had the gateway held the body
    // back until the function ended, "first" could not have arrived yet.
    assert!(!seen.contains("signalled"), "{seen}");
    std::fs::write(&signal, b"").unwrap();
    while let Some(chunk) = body.next().await {
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    assert_eq!(seen, "first\nsignalled\n");
    let _ = std::fs::remove_dir_all(&dir);
}
