//! `POST /api/v1/completions/stream` through the local gateway, which serves the function URL in
//! response-streaming mode on the HTTP API's port: Server-Sent Events arrive while the stand-in is
//! still writing its answer; a caller that hangs up does not lose the completion; a failing provider
//! and a cancel end the stream with the finished completion; callers are authenticated by the
//! function itself (no API Gateway authorizer in front of a function URL).

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::{json, Value};

use crate::auth_matrix::{bearer, jwt, secret};
use crate::conversation::get;
use crate::helpers::{fresh_tenant, gateway_url, http, send_json, Credential};

const STREAM: &str = "/api/v1/completions/stream";

fn caller(tenant: &str, role: &str) -> Credential {
    bearer(&jwt(tenant, role, &json!({}), &secret()))
}

/// One Server-Sent Event, with the moment it was read.
#[derive(Debug)]
struct Event {
    name: String,
    data: Value,
    read_at: DateTime<Utc>,
}

/// Reads events from a streamed answer until `stop` says so or the stream ends.
async fn read_events(
    body: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    events: &mut Vec<Event>,
    stop: impl Fn(&[Event]) -> bool,
) {
    let mut pending = String::new();
    while !stop(events) {
        let Some(chunk) = body.next().await else { return };
        pending.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = pending.find("\n\n") {
            let block: String = pending.drain(..end + 2).collect();
            if block.starts_with(':') {
                continue; // a keep-alive comment
            }
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
            };
            events.push(Event {
                name: field("event").unwrap_or_default(),
                data: serde_json::from_str(&field("data").unwrap_or_default()).unwrap_or(Value::Null),
                read_at: Utc::now(),
            });
        }
    }
}

async fn open(caller: &Credential, body: &Value) -> reqwest::Response {
    http()
        .post(format!("{}{STREAM}", gateway_url()))
        .header(caller.0, &caller.1)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn texts(events: &[Event]) -> String {
    events
        .iter()
        .filter(|e| e.name == "chunk")
        .map(|e| e.data["text"].as_str().unwrap())
        .collect()
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn chunks_arrive_while_the_provider_still_writes_and_the_last_event_is_the_stored_completion() {
    // GIVEN an operator, and a stand-in that writes one word every 0.5 s
    let caller = caller(&fresh_tenant("stream"), "operator");
    let prompt = "Count for me [chunk-delay 0.5]";
    // WHEN it asks for a streamed completion
    let response = open(&caller, &json!({"model_id": "standin", "prompt": prompt})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.bytes_stream();
    let mut events = Vec::new();
    read_events(&mut body, &mut events, |_| false).await;
    // THEN the first event is the running completion, then the chunks in order, then the finished one
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names.first(), Some(&"completion"), "{events:?}");
    assert_eq!(names.last(), Some(&"completion"), "{events:?}");
    let (first, last) = (&events[0].data, &events[events.len() - 1].data);
    assert_eq!(first["status"], "running", "{first}");
    assert_eq!(last["status"], "completed", "{last}");
    assert_eq!(first["completion_id"], last["completion_id"]);
    let chunks: Vec<&Event> = events.iter().filter(|e| e.name == "chunk").collect();
    assert!(chunks.len() >= 3, "{events:?}");
    let seqs: Vec<u64> = chunks.iter().map(|c| c.data["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=chunks.len() as u64).collect::<Vec<_>>());
    // AND the chunks are the stored result, with its usage
    assert_eq!(texts(&events), last["result"].as_str().unwrap(), "{last}");
    assert!(last["usage"]["output_tokens"].as_u64().is_some(), "{last}");
    // AND the first chunk was read before the completion finished (the stand-in's last word came
    // later): a gateway or function holding the body back could only deliver it after the finish
    let finished: DateTime<Utc> = last["timings"]["finished_at"].as_str().unwrap().parse().unwrap();
    assert!(chunks[0].read_at < finished, "{:?} vs {finished}", chunks[0].read_at);
    // AND GET reads the same completion
    let id = last["completion_id"].as_str().unwrap();
    let (status, read) = get(&caller, &format!("/api/v1/completions/{id}")).await;
    assert_eq!((status, &read["result"]), (200, &last["result"]));
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_caller_that_hangs_up_does_not_lose_the_completion() {
    let caller = caller(&fresh_tenant("stream-hangup"), "operator");
    let response = open(
        &caller,
        &json!({"model_id": "standin", "prompt": "Keep going [chunk-delay 0.3]"}),
    )
    .await;
    let mut body = response.bytes_stream();
    let mut events = Vec::new();
    read_events(&mut body, &mut events, |e| e.iter().any(|e| e.name == "chunk")).await;
    let id = events[0].data["completion_id"].as_str().unwrap().to_owned();
    // WHEN the caller hangs up after the first chunk
    drop(body);
    // THEN the completion still finishes, whole
    let path = format!("/api/v1/completions/{id}");
    let mut read = Value::Null;
    for _ in 0..150 {
        read = get(&caller, &path).await.1;
        if read["status"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(read["status"], "completed", "{read}");
    assert!(
        read["result"].as_str().unwrap().ends_with("[chunk-delay 0.3]"),
        "{read}"
    );
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_failing_provider_and_a_cancel_end_the_stream_with_the_finished_completion() {
    let tenant = fresh_tenant("stream-end");
    let caller = caller(&tenant, "operator");
    // A provider answering 500 every time: the last event is the failed completion
    let response = open(&caller, &json!({"model_id": "standin", "prompt": "hi [status 500]"})).await;
    let mut events = Vec::new();
    read_events(&mut response.bytes_stream(), &mut events, |_| false).await;
    let last = &events.last().unwrap().data;
    assert_eq!(
        (last["status"].as_str(), last["error"]["code"].as_str()),
        (Some("failed"), Some("PROVIDER_FAILED")),
        "{events:?}"
    );
    // A completion cancelled while it streams: the last event is the cancelled completion
    let response = open(
        &caller,
        &json!({"model_id": "standin", "prompt": "slowly now [chunk-delay 1]"}),
    )
    .await;
    let mut body = response.bytes_stream();
    let mut events = Vec::new();
    read_events(&mut body, &mut events, |e| e.iter().any(|e| e.name == "chunk")).await;
    let id = events[0].data["completion_id"].as_str().unwrap().to_owned();
    let (status, cancelled) = send_json(
        http()
            .delete(format!("{}/api/v1/completions/{id}", gateway_url()))
            .header(caller.0, &caller.1),
    )
    .await;
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")));
    read_events(&mut body, &mut events, |_| false).await;
    let last = events.last().unwrap();
    assert_eq!(
        (last.name.as_str(), &last.data["status"]),
        ("completion", &json!("cancelled"))
    );
    // AND another tenant does not see either
    let stranger = self::caller(&fresh_tenant("stream-other"), "operator");
    assert_eq!(get(&stranger, &format!("/api/v1/completions/{id}")).await.0, 404);
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn the_function_authenticates_its_callers_and_refuses_bad_requests_in_the_envelope() {
    let tenant = fresh_tenant("stream-auth");
    let url = format!("{}{STREAM}", gateway_url());
    let body = json!({"model_id": "standin", "prompt": "hi"});
    // No credentials, a bad key, a viewer: 401, 401, 403, in the error envelope
    let (status, none) = send_json(http().post(&url).json(&body)).await;
    assert_eq!(
        (status, none["error"]["code"].as_str()),
        (401, Some("UNAUTHENTICATED")),
        "{none}"
    );
    let bad = format!("mcpf_{}_{}", "0".repeat(16), "A".repeat(43));
    let (status, _) = send_json(http().post(&url).header("x-api-key", bad).json(&body)).await;
    assert_eq!(status, 401);
    let viewer = caller(&tenant, "viewer");
    let (status, refused) = send_json(http().post(&url).header(viewer.0, &viewer.1).json(&body)).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("FORBIDDEN")),
        "{refused}"
    );
    // A wrong body, an unknown model: 400 before any stream
    let operator = caller(&tenant, "operator");
    let (status, wrong) = send_json(
        http()
            .post(&url)
            .header(operator.0, &operator.1)
            .json(&json!({"prompt": "hi", "colour": "red"})),
    )
    .await;
    assert_eq!(
        (status, wrong["error"]["code"].as_str()),
        (400, Some("INVALID_REQUEST")),
        "{wrong}"
    );
    let (status, unknown) = send_json(
        http()
            .post(&url)
            .header(operator.0, &operator.1)
            .json(&json!({"prompt": "hi", "model_id": "no-such-model"})),
    )
    .await;
    assert_eq!(
        (status, unknown["error"]["code"].as_str()),
        (400, Some("MODEL_NOT_FOUND")),
        "{unknown}"
    );
    // Another method at the URL: 404 in the envelope
    let (status, other) = send_json(http().get(&url).header(operator.0, &operator.1)).await;
    assert_eq!(
        (status, other["error"]["code"].as_str()),
        (404, Some("ROUTE_NOT_FOUND")),
        "{other}"
    );
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_streamed_completion_runs_its_tool_round_and_streams_the_answer_written_after_it() {
    // GIVEN a tenant with a registered tool
    let caller = caller(&fresh_tenant("ssetools"), "operator");
    let tool = json!({"name": "weather", "description": "Weather by city", "endpoint": crate::helpers::tool_endpoint(),
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}});
    let (status, created) = crate::conversation::post(&caller, "/api/v1/tools", &tool).await;
    assert_eq!(status, 201, "{created}");
    // WHEN a streamed completion offers it and the model (streaming its call in pieces) calls it
    let body = json!({"model_id": "standin", "tools": ["weather"],
        "prompt": r#"Weather? [call weather {"city": "Lima"}] [chunk-delay 0.05]"#});
    let response = open(&caller, &body).await;
    assert_eq!(response.status(), 200);
    let mut events = Vec::new();
    read_events(&mut response.bytes_stream(), &mut events, |_| false).await;
    // THEN the chunks are those of the answer after the tool round (the second call: attempt 2)
    let chunks: Vec<&Event> = events.iter().filter(|e| e.name == "chunk").collect();
    assert!(!chunks.is_empty(), "{events:?}");
    assert!(chunks.iter().all(|c| c.data["attempt"] == 2), "{events:?}");
    assert!(
        texts(&events).contains(r#"tools ["{\"echo\":{\"city\":\"Lima\"}}"]"#),
        "{events:?}"
    );
    // AND the last event is the completed completion with its round
    let last = events.last().unwrap();
    assert_eq!(
        (last.name.as_str(), &last.data["status"]),
        ("completion", &json!("completed"))
    );
    assert_eq!(
        last.data["tool_rounds"][0]["calls"][0]["arguments"],
        json!({"city": "Lima"})
    );
}
