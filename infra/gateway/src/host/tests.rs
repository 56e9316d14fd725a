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
