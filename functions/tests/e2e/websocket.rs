//! The WebSocket API through the local gateway with a real WebSocket client: the handshake's
//! credentials, the welcome, heartbeats, each protocol error, the size limits, the per-connection
//! rate limit, and a closed connection gone from the management API.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

use shared::connections::store::ConnectionStore;

use crate::auth_matrix::{jwt, secret};
use crate::helpers::{admin_key, fresh_tenant, http, remember_secret};

pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// `WS_URL`, else `ws://127.0.0.1:$WS_PORT/v1`.
fn ws_url() -> String {
    std::env::var("WS_URL").unwrap_or_else(|_| {
        format!(
            "ws://127.0.0.1:{}/v1",
            std::env::var("WS_PORT").unwrap_or_else(|_| "3001".into())
        )
    })
}

pub(crate) async fn connect_with(header: Option<(&str, &str)>, query: &str) -> Result<Socket, u16> {
    let mut request = format!("{}{query}", ws_url()).into_client_request().unwrap();
    if let Some((name, value)) = header {
        request.headers_mut().insert(http_name(name), value.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

fn http_name(name: &str) -> tokio_tungstenite::tungstenite::http::HeaderName {
    tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap()
}

async fn connect() -> Socket {
    connect_with(Some(("x-api-key", &admin_key())), "").await.unwrap()
}

/// The next text message as JSON, or `{"closed": code}`.
pub(crate) async fn next(socket: &mut Socket) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("an answer within 30 s")
        {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(Message::Close(frame))) => return json!({"closed": frame.map(|f| u16::from(f.code))}),
            Some(Ok(_)) => {}
            None => return json!({"closed": null}),
            Some(Err(e)) => return json!({"closed": null, "error": e.to_string()}),
        }
    }
}

fn heartbeat(id: &str) -> Message {
    Message::Text(
        json!({"protocol_version": "2.0", "message_type": "heartbeat", "message_id": id})
            .to_string()
            .into(),
    )
}

/// Sends `text` as fragments of at most 16 KiB, as a client within API Gateway's 32 KiB frames does.
async fn send_fragmented(socket: &mut Socket, text: &str) {
    let chunks: Vec<&[u8]> = text.as_bytes().chunks(16 * 1024).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let opcode = if i == 0 {
            OpCode::Data(Data::Text)
        } else {
            OpCode::Data(Data::Continue)
        };
        let frame = Frame::message(chunk.to_vec(), opcode, i + 1 == chunks.len());
        socket.send(Message::Frame(frame)).await.unwrap();
    }
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_handshake_needs_a_valid_key_or_token_and_the_first_message_gets_the_welcome() {
    // GIVEN a key that does not exist, in the header or in the `token` query parameter
    let unknown = connect_with(Some(("x-api-key", "mcpf_0000000000000000_nope")), "").await;
    assert_eq!(unknown.err(), Some(401));
    let unknown = connect_with(None, "?token=mcpf_0000000000000000_nope").await;
    assert_eq!(unknown.err(), Some(401));
    // WHEN a JWT of a fresh tenant comes in the `token` query parameter (a browser cannot set headers)
    let token = jwt(&fresh_tenant("ws"), "viewer", &json!({}), &secret());
    // make test then checks that no log holds it: a query string is never logged.
    remember_secret(&token);
    let mut socket = connect_with(None, &format!("?token={token}"))
        .await
        .expect("a token opens it");
    // THEN its first message gets the welcome, then the heartbeat's answer
    socket.send(heartbeat("hb-1")).await.unwrap();
    let welcome = next(&mut socket).await;
    assert_eq!(
        (welcome["message_type"].as_str(), welcome["event_type"].as_str()),
        (Some("event"), Some("welcome")),
        "{welcome}"
    );
    let client_id = welcome["data"]["client_id"].as_str().unwrap().to_owned();
    let beat = next(&mut socket).await;
    assert_eq!(
        (
            beat["message_type"].as_str(),
            beat["request_id"].as_str(),
            beat["client_id"].as_str()
        ),
        (Some("heartbeat"), Some("hb-1"), Some(client_id.as_str())),
        "{beat}"
    );
    // AND a second heartbeat gets its answer alone
    socket.send(heartbeat("hb-2")).await.unwrap();
    assert_eq!(next(&mut socket).await["request_id"], "hb-2");
    // AND once closed, the connection is gone from the management API
    socket.close(None).await.unwrap();
    let url = format!("{}/@connections/{client_id}", ws_url().replacen("ws://", "http://", 1));
    let mut status = 0;
    for _ in 0..50 {
        status = http().get(&url).send().await.unwrap().status().as_u16();
        if status == 410 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 410);
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn broken_messages_get_their_error_codes_and_a_message_past_128_kib_closes_the_connection() {
    let mut socket = connect().await;
    socket.send(heartbeat("hb-0")).await.unwrap();
    assert_eq!(next(&mut socket).await["event_type"], "welcome");
    next(&mut socket).await;
    let cases = [
        ("{not json".to_owned(), "INVALID_MESSAGE_FORMAT"),
        (
            json!({"protocol_version": "1.0", "message_type": "heartbeat", "message_id": "v1"}).to_string(),
            "INVALID_PROTOCOL_VERSION",
        ),
        (
            json!({"protocol_version": "2.0", "message_type": "heartbeat", "message_id": "bad id!"}).to_string(),
            "INVALID_MESSAGE_ID",
        ),
        (
            json!({"protocol_version": "2.0", "message_type": "heartbeat", "message_id": "x", "extra": 1}).to_string(),
            "INVALID_MESSAGE_FORMAT",
        ),
    ];
    for (text, code) in cases {
        socket.send(Message::Text(text.clone().into())).await.unwrap();
        let answer = next(&mut socket).await;
        assert_eq!(
            (answer["message_type"].as_str(), answer["error_code"].as_str()),
            (Some("error"), Some(code)),
            "{text}: {answer}"
        );
    }
    // A 40 KiB message, sent in frames API Gateway accepts, is past the protocol's 32 KiB.
    let big = json!({"protocol_version": "2.0", "message_type": "heartbeat", "message_id": "big",
                     "metrics": {"pad": "x".repeat(40 * 1024)}});
    send_fragmented(&mut socket, &big.to_string()).await;
    let answer = next(&mut socket).await;
    assert_eq!(answer["error_code"], "MESSAGE_TOO_LARGE", "{answer}");
    assert_eq!(answer["details"]["limit_bytes"], 32 * 1024);
    // Past 128 KiB, the gateway closes the connection as API Gateway does.
    send_fragmented(&mut socket, &"y".repeat(130 * 1024)).await;
    assert_eq!(next(&mut socket).await["closed"], 1009);
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_connection_past_100_messages_a_minute_gets_rate_limit_exceeded_with_the_wait() {
    // GIVEN a connection of its own (the limit is per connection)
    let mut socket = connect().await;
    let started = Instant::now();
    let mut admitted = 0_u32;
    let refused = loop {
        // One at a time, each answer awaited: the count is exact.
        socket.send(heartbeat(&format!("hb-{admitted}"))).await.unwrap();
        let mut answer = next(&mut socket).await;
        if answer["event_type"] == "welcome" {
            answer = next(&mut socket).await;
        }
        if answer["message_type"] == "error" {
            break answer;
        }
        assert_eq!(answer["message_type"], "heartbeat", "{answer}");
        admitted += 1;
        assert!(admitted <= 200, "never limited");
    };
    // THEN the first refusal comes after the burst of 100, plus what refilled meanwhile (one every 0.6 s)
    let refilled = u32::try_from(started.elapsed().as_millis() / 600).unwrap() + 1;
    assert!(
        (100..=100 + refilled).contains(&admitted),
        "admitted {admitted}, refilled {refilled}"
    );
    assert_eq!(refused["error_code"], "RATE_LIMIT_EXCEEDED", "{refused}");
    assert!(refused["details"]["retry_after_secs"].as_u64().unwrap() >= 1);
    // AND another connection of the same key is not limited by it
    let mut other = connect().await;
    other.send(heartbeat("other")).await.unwrap();
    assert_eq!(next(&mut other).await["event_type"], "welcome");
}

fn request(id: &str, method: &str, params: &Value) -> Message {
    let msg = json!({"protocol_version": "2.0", "message_type": "request", "message_id": id, "method": method, "params": params});
    Message::Text(msg.to_string().into())
}

/// A connection's first message, a `subscribe` to `topic`: after the welcome, its answer.
pub(crate) async fn first_subscribe(socket: &mut Socket, topic: &str) -> Value {
    let params = json!({"topics": [topic]});
    socket.send(request("sub-1", "subscribe", &params)).await.unwrap();
    assert_eq!(next(socket).await["event_type"], "welcome");
    next(socket).await
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_subscriber_to_a_context_gets_the_task_update_of_its_prompt_and_another_tenant_cannot_subscribe() {
    // GIVEN a context of the local tenant and a connection subscribed to it
    let caller = ("x-api-key", admin_key());
    let (status, created) = crate::conversation::post(&caller, "/api/v1/mcp/contexts", &json!({})).await;
    assert_eq!(status, 201, "{created}");
    let context_id = created["context_id"].as_str().unwrap().to_owned();
    let mut socket = connect().await;
    let subscribed = first_subscribe(&mut socket, &format!("context:{context_id}")).await;
    assert_eq!(
        subscribed["result"]["subscribed"][0],
        format!("context:{context_id}"),
        "{subscribed}"
    );
    // WHEN the context is prompted
    let path = format!("/api/v1/mcp/contexts/{context_id}/prompt");
    let (status, task) = crate::conversation::post(&caller, &path, &json!({"prompt": "hello over the socket"})).await;
    assert_eq!(status, 202, "{task}");
    let task_id = task["task_id"].as_str().unwrap();
    // THEN the subscriber gets the task's update once it is done, with the reply
    let update = next(&mut socket).await;
    assert_eq!(
        (
            update["event_type"].as_str(),
            update["data"]["task_id"].as_str(),
            update["data"]["status"].as_str()
        ),
        (Some("task_update"), Some(task_id), Some("completed")),
        "{update}"
    );
    assert!(
        update["data"]["output"].as_str().is_some_and(|o| !o.is_empty()),
        "{update}"
    );
    // AND subscribing to the task now that it is done answers with its final state
    let late = json!({"topics": [format!("task:{task_id}")]});
    socket.send(request("sub-late", "subscribe", &late)).await.unwrap();
    let answer = next(&mut socket).await;
    assert_eq!(answer["result"]["tasks"][task_id]["status"], "completed", "{answer}");
    // AND once it closes, its subscription is gone from the table with it
    socket.close(None).await.unwrap();
    let connections = shared::connections::dynamodb::DynamoDbConnections::new(
        shared::aws::AwsClients::load().await.dynamodb,
        format!(
            "{}-Table",
            std::env::var("STACK_NAME").unwrap_or_else(|_| "mcpflow-local".into())
        ),
    );
    let topic = format!("context:{context_id}");
    let mut left = vec![String::new()];
    for _ in 0..50 {
        left = connections.subscribers("local", &topic).await.unwrap();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(left.is_empty(), "{left:?}");
    // AND a connection of another tenant is refused the same context, as if it did not exist
    let token = jwt(&fresh_tenant("wsother"), "admin", &json!({}), &secret());
    remember_secret(&token);
    let mut other = connect_with(Some(("authorization", &format!("Bearer {token}"))), "")
        .await
        .unwrap();
    let refused = first_subscribe(&mut other, &format!("context:{context_id}")).await;
    assert_eq!(refused["error_code"], "UNAUTHORIZED_ACCESS", "{refused}");
}

/// A context on the slow stand-in (`infra/stack/llm_standin.py`) and a connection subscribed to it.
async fn watched_standin_context(caller: &crate::helpers::Credential) -> (String, Socket) {
    let (status, created) =
        crate::conversation::post(caller, "/api/v1/mcp/contexts", &json!({"model_id": "standin"})).await;
    assert_eq!(status, 201, "{created}");
    let context_id = created["context_id"].as_str().unwrap().to_owned();
    let mut socket = connect().await;
    let subscribed = first_subscribe(&mut socket, &format!("context:{context_id}")).await;
    assert_eq!(subscribed["message_type"], "response", "{subscribed}");
    (context_id, socket)
}

/// The events up to and including the first `task_update`: its `completion_chunk`s' data, and it.
async fn chunks_until_update(socket: &mut Socket) -> (Vec<Value>, Value) {
    let mut chunks = Vec::new();
    loop {
        let event = next(socket).await;
        match event["event_type"].as_str() {
            Some("completion_chunk") => chunks.push(event["data"].clone()),
            Some("task_update") => return (chunks, event["data"].clone()),
            _ => panic!("not an event of the stream: {event}"),
        }
    }
}

/// `(attempt, seq)` of each chunk.
fn numbering(chunks: &[Value]) -> Vec<(u64, u64)> {
    chunks
        .iter()
        .map(|c| (c["attempt"].as_u64().unwrap(), c["seq"].as_u64().unwrap()))
        .collect()
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_streamed_prompt_pushes_numbered_chunks_then_completed_and_the_stored_reply_is_their_text() {
    // GIVEN a connection watching a context on a provider that streams a word every 200 ms
    let caller = ("x-api-key", admin_key());
    let (context_id, mut socket) = watched_standin_context(&caller).await;
    // WHEN the context is prompted with stream: true
    let path = format!("/api/v1/mcp/contexts/{context_id}/prompt");
    let prompt = "[chunk-delay 0.2] tell me something in pieces";
    let (status, task) = crate::conversation::post(&caller, &path, &json!({"prompt": prompt, "stream": true})).await;
    assert_eq!(status, 202, "{task}");
    // THEN the chunks arrive numbered 1, 2, 3, … of one attempt, then the completed task_update
    let (chunks, update) = chunks_until_update(&mut socket).await;
    assert_eq!(
        (update["task_id"].as_str(), update["status"].as_str()),
        (task["task_id"].as_str(), Some("completed")),
        "{update}"
    );
    let expected: Vec<(u64, u64)> = (1..=chunks.len() as u64).map(|seq| (1, seq)).collect();
    assert_eq!(numbering(&chunks), expected);
    assert!(chunks.len() > 3, "{chunks:?}");
    assert!(chunks.iter().all(|c| c["task_id"] == task["task_id"]));
    // AND together they are the stored result, in the task and in the context
    let text: String = chunks.iter().map(|c| c["text"].as_str().unwrap()).collect();
    assert_eq!(text, format!("standin: 1 message(s); last: {prompt}"));
    assert_eq!(update["output"], text.as_str());
    let (_, context) = crate::conversation::get(&caller, &format!("/api/v1/mcp/contexts/{context_id}")).await;
    assert_eq!(context["nodes"][1]["content"], text.as_str(), "{context}");
    // AND the task keeps how its stream went: a piece a word, the first after at least 200 ms
    let stats = &update["stream_stats"];
    let words = text.split_whitespace().count() as u64;
    assert_eq!(
        (stats["chunks"].as_u64(), stats["attempts"].as_u64()),
        (Some(words), Some(1)),
        "{stats}"
    );
    assert!(stats["first_chunk_ms"].as_u64().unwrap() >= 200, "{stats}");
    assert!(stats["gap_p50_ms"].as_u64().unwrap() >= 150, "{stats}");
    // AND stream/analyze answers the same figures over the socket
    let args = json!({"name": "stream/analyze", "arguments": {"task_id": task["task_id"]}});
    socket.send(request("analyze-1", "tools/call", &args)).await.unwrap();
    let analyzed = next(&mut socket).await;
    assert_eq!(analyzed["result"]["structuredContent"]["stream"], *stats, "{analyzed}");
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_stream_that_breaks_starts_again_with_the_next_attempt_and_fails_when_every_attempt_breaks() {
    // GIVEN a connection watching a context on a provider whose streams break after 2 words
    let caller = ("x-api-key", admin_key());
    let (context_id, mut socket) = watched_standin_context(&caller).await;
    // WHEN the context is prompted with stream: true
    let path = format!("/api/v1/mcp/contexts/{context_id}/prompt");
    let body = json!({"prompt": "[chunk-delay 0.05] [break-after 2] never whole", "stream": true});
    let (status, task) = crate::conversation::post(&caller, &path, &body).await;
    assert_eq!(status, 202, "{task}");
    // THEN each of the 3 attempts streams its 2 chunks numbered from 1, and the task fails
    let (chunks, update) = chunks_until_update(&mut socket).await;
    let words: Vec<u64> = chunks.iter().map(|c| c["attempt"].as_u64().unwrap()).collect();
    assert_eq!(words.first(), Some(&1), "{chunks:?}");
    assert_eq!(words.last(), Some(&3), "{chunks:?}");
    for attempt in 1..=3 {
        let text: String = chunks
            .iter()
            .filter(|c| c["attempt"] == attempt)
            .map(|c| c["text"].as_str().unwrap())
            .collect();
        assert_eq!(text, "standin: 1 ", "attempt {attempt}: {chunks:?}");
    }
    assert_eq!(
        (update["status"].as_str(), update["error_code"].as_str()),
        (Some("failed"), Some("PROVIDER_FAILED")),
        "{update}"
    );
    assert_eq!(
        (
            update["stream_stats"]["attempts"].as_u64(),
            update["stream_stats"]["chunks"].as_u64()
        ),
        (Some(3), Some(6)),
        "{update}"
    );
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_client_that_reconnects_gets_every_event_it_missed_through_events_since() {
    // GIVEN a watcher of a context that saw the first prompt's task_update, then lost its connection
    let caller = ("x-api-key", admin_key());
    let (status, created) = crate::conversation::post(&caller, "/api/v1/mcp/contexts", &json!({})).await;
    assert_eq!(status, 201, "{created}");
    let context_id = created["context_id"].as_str().unwrap().to_owned();
    let topic = format!("context:{context_id}");
    let mut socket = connect().await;
    first_subscribe(&mut socket, &topic).await;
    let path = format!("/api/v1/mcp/contexts/{context_id}/prompt");
    crate::conversation::post(&caller, &path, &json!({"prompt": "seen"})).await;
    let seen = next(&mut socket).await;
    assert_eq!(seen["event_type"], "task_update", "{seen}");
    let last_seen = seen["message_id"].as_str().unwrap().to_owned();
    drop(socket);
    // WHEN two more prompts finish while it is away
    let mut missed = Vec::new();
    for text in ["missed one", "missed two"] {
        let (_, task) = crate::conversation::post(&caller, &path, &json!({"prompt": text})).await;
        let task_id = task["task_id"].as_str().unwrap().to_owned();
        let done = crate::conversation::finished_within(&caller, &task_id, 60).await;
        assert_eq!(done["status"], "completed", "{done}");
        missed.push(task_id);
    }
    // AND it reconnects, resubscribes and asks for the events since the last one it saw
    let mut again = connect().await;
    first_subscribe(&mut again, &topic).await;
    again
        .send(request("since-1", "events/since", &json!({"after": last_seen})))
        .await
        .unwrap();
    let answer = next(&mut again).await;
    // THEN it gets both task_updates it missed, in order, and nothing before them
    let events = answer["result"]["events"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"));
    let tasks: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["data"]["task_id"].as_str().unwrap(),
                e["data"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        tasks,
        [(missed[0].as_str(), "completed"), (missed[1].as_str(), "completed")],
        "{answer}"
    );
    assert_eq!(
        (
            answer["result"]["more"].as_bool(),
            answer["result"]["complete"].as_bool()
        ),
        (Some(false), Some(true))
    );
    // AND a connection of another tenant cannot ask for the context's events
    let token = jwt(&fresh_tenant("wssince"), "admin", &json!({}), &secret());
    remember_secret(&token);
    let mut other = connect_with(Some(("authorization", &format!("Bearer {token}"))), "")
        .await
        .unwrap();
    other
        .send(request("since-2", "events/since", &json!({"topics": [topic]})))
        .await
        .unwrap();
    assert_eq!(next(&mut other).await["event_type"], "welcome");
    let refused = next(&mut other).await;
    assert_eq!(refused["error_code"], "UNAUTHORIZED_ACCESS", "{refused}");
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn diagnostics_count_a_connections_violations_and_the_20th_closes_it() {
    // GIVEN a connection that sent two broken messages
    let mut socket = connect().await;
    socket.send(heartbeat("hb-0")).await.unwrap();
    assert_eq!(next(&mut socket).await["event_type"], "welcome");
    next(&mut socket).await;
    for _ in 0..2 {
        socket.send(Message::Text("{not json".into())).await.unwrap();
        assert_eq!(next(&mut socket).await["error_code"], "INVALID_MESSAGE_FORMAT");
    }
    // WHEN it asks for its diagnostics
    socket
        .send(request("diag-1", "system/diagnostics", &json!({})))
        .await
        .unwrap();
    let answer = next(&mut socket).await;
    // THEN they count its messages and violations, its tenant's connections, and the dependencies
    let result = &answer["result"];
    assert_eq!(result["connection"]["messages_received"], 4, "{answer}");
    assert_eq!(
        result["connection"]["violations"],
        json!({"INVALID_MESSAGE_FORMAT": 2}),
        "{answer}"
    );
    assert!(
        result["tenant"]["active_connections"].as_u64().unwrap() >= 1,
        "{answer}"
    );
    assert_eq!(result["health"]["status"], "ok", "{answer}");
    // AND at its 20th violation it is told why, then closed by the server
    for n in 3..20 {
        socket.send(Message::Text("{not json".into())).await.unwrap();
        assert_eq!(
            next(&mut socket).await["error_code"],
            "INVALID_MESSAGE_FORMAT",
            "violation {n}"
        );
    }
    socket.send(Message::Text("{not json".into())).await.unwrap();
    let told = next(&mut socket).await;
    assert_eq!(told["error_code"], "SECURITY_VIOLATION", "{told}");
    let mut end = next(&mut socket).await;
    if end["error_code"] == "INVALID_MESSAGE_FORMAT" {
        end = next(&mut socket).await;
    }
    assert!(end.get("closed").is_some(), "{end}");
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn tools_list_and_tools_call_reach_the_mcp_tools_with_the_connections_role() {
    // GIVEN an operator's connection and a viewer's, of one tenant
    let tenant = fresh_tenant("wstools");
    let mut sockets = Vec::new();
    for role in ["operator", "viewer"] {
        let token = jwt(&tenant, role, &json!({}), &secret());
        remember_secret(&token);
        let mut socket = connect_with(Some(("authorization", &format!("Bearer {token}"))), "")
            .await
            .unwrap();
        socket.send(heartbeat("hb-0")).await.unwrap();
        assert_eq!(next(&mut socket).await["event_type"], "welcome");
        next(&mut socket).await;
        sockets.push(socket);
    }
    let (operator, viewer) = sockets.split_at_mut(1);
    let (operator, viewer) = (&mut operator[0], &mut viewer[0]);
    // WHEN the operator lists the tools
    operator
        .send(request("list-1", "tools/list", &json!({})))
        .await
        .unwrap();
    let listed = next(operator).await;
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    // THEN they are the MCP endpoint's and the system tools
    for name in [
        "create_task",
        "add_prompt",
        "get_task_result",
        "system/diagnostics",
        "stream/analyze",
        "workflow/analyze",
    ] {
        assert!(names.contains(&name), "{name} not in {names:?}");
    }
    // AND create_task through the socket makes a real task that the worker answers
    let args = json!({"name": "create_task", "arguments": {"prompt": "hello from a socket"}});
    operator.send(request("call-1", "tools/call", &args)).await.unwrap();
    let created = next(operator).await;
    let task_id = created["result"]["structuredContent"]["task_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    let caller = crate::auth_matrix::bearer(&jwt(&tenant, "operator", &json!({}), &secret()));
    let done = crate::conversation::finished_within(&caller, &task_id, 60).await;
    assert_eq!(done["status"], "completed", "{done}");
    // AND the viewer may not create one, as over MCP
    viewer.send(request("call-2", "tools/call", &args)).await.unwrap();
    let refused = next(viewer).await;
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    // AND both calls are in the tenant's audit log, as over MCP: the operator's allowed, the viewer's denied
    let admin = crate::auth_matrix::bearer(&jwt(&tenant, "admin", &json!({}), &secret()));
    let (status, page) = crate::conversation::get(&admin, "/api/v1/audit").await;
    assert_eq!(status, 200, "{page}");
    let audited: Vec<(&str, &str, u64)> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"] == "tools/call create_task")
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        audited,
        [("$default", "denied", 403), ("$default", "succeeded", 200)],
        "{page}"
    );
    // AND workflow/analyze answers an empty analysis while pipelines do not exist
    let args = json!({"name": "workflow/analyze", "arguments": {"minutes": 30}});
    viewer.send(request("call-3", "tools/call", &args)).await.unwrap();
    let analysis = next(viewer).await;
    assert_eq!(analysis["result"]["structuredContent"]["executions"], 0, "{analysis}");
    // AND each message is a request event of the tenant's logs, with its method
    let (status, page) = crate::conversation::get(&admin, "/api/v1/logs?kind=request").await;
    assert_eq!(status, 200, "{page}");
    let methods: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["fields"]["route"] == "WS $default")
        .filter_map(|e| e["fields"]["ws_method"].as_str())
        .collect();
    for method in ["tools/list", "tools/call"] {
        assert!(methods.contains(&method), "{method} not in {methods:?}");
    }
}

/// Connections each tenant opens in the fan-out test.
const PER_TENANT: usize = 250;

/// A tenant's context and `PER_TENANT` connections subscribed to it, opened 50 at a time.
async fn watchers(tenant: &str) -> (crate::helpers::Credential, String, Vec<Socket>) {
    let token = jwt(tenant, "agent", &json!({}), &secret());
    remember_secret(&token);
    let caller = crate::auth_matrix::bearer(&token);
    let (status, created) = crate::conversation::post(&caller, "/api/v1/mcp/contexts", &json!({})).await;
    assert_eq!(status, 201, "{created}");
    let context_id = created["context_id"].as_str().unwrap().to_owned();
    let topic = format!("context:{context_id}");
    let header = format!("Bearer {token}");
    let open = |_| {
        let (header, topic) = (header.clone(), topic.clone());
        async move {
            let mut socket = connect_with(Some(("authorization", &header)), "").await.unwrap();
            let answer = first_subscribe(&mut socket, &topic).await;
            assert_eq!(answer["message_type"], "response", "{answer}");
            socket
        }
    };
    let sockets = futures::stream::iter(0..PER_TENANT)
        .map(open)
        .buffer_unordered(50)
        .collect::<Vec<_>>()
        .await;
    (caller, context_id, sockets)
}

/// The data of each socket's next event, and whether anything else came within 2 s after it.
async fn each_next_event(sockets: Vec<Socket>) -> Vec<(Value, bool)> {
    let read = sockets.into_iter().map(|mut socket| async move {
        let event = next(&mut socket).await;
        let more = tokio::time::timeout(Duration::from_secs(2), socket.next())
            .await
            .is_ok();
        (event, more)
    });
    futures::future::join_all(read).await
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn five_hundred_connections_of_two_tenants_each_get_exactly_their_own_tenants_event() {
    // GIVEN 250 connections of each of two tenants, each watching its tenant's context
    let (caller_a, context_a, sockets_a) = watchers(&fresh_tenant("fana")).await;
    let (caller_b, context_b, sockets_b) = watchers(&fresh_tenant("fanb")).await;
    // WHEN each context is prompted once
    let mut tasks = Vec::new();
    for (caller, context) in [(&caller_a, &context_a), (&caller_b, &context_b)] {
        let path = format!("/api/v1/mcp/contexts/{context}/prompt");
        let (status, task) = crate::conversation::post(caller, &path, &json!({"prompt": "to all watchers"})).await;
        assert_eq!(status, 202, "{task}");
        tasks.push(task["task_id"].as_str().unwrap().to_owned());
    }
    let (got_a, got_b) = tokio::join!(each_next_event(sockets_a), each_next_event(sockets_b));
    // THEN every connection got its own tenant's task_update, completed, and nothing more
    for (got, task_id) in [(got_a, &tasks[0]), (got_b, &tasks[1])] {
        assert_eq!(got.len(), PER_TENANT);
        for (event, more) in got {
            assert_eq!(
                (
                    event["event_type"].as_str(),
                    event["data"]["task_id"].as_str(),
                    event["data"]["status"].as_str()
                ),
                (Some("task_update"), Some(task_id.as_str()), Some("completed")),
                "{event}"
            );
            assert!(!more, "a second event reached a connection after {event}");
        }
    }
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_cancelled_task_is_pushed_to_its_subscribers_too() {
    // GIVEN a connection watching a context whose prompt the stand-in answers only after 30 s
    let caller = ("x-api-key", admin_key());
    let (context_id, mut socket) = watched_standin_context(&caller).await;
    let path = format!("/api/v1/mcp/contexts/{context_id}/prompt");
    let (status, task) = crate::conversation::post(&caller, &path, &json!({"prompt": "[sleep 30] slow"})).await;
    assert_eq!(status, 202, "{task}");
    let task_id = task["task_id"].as_str().unwrap();
    // WHEN a caller cancels it through the REST API
    let (status, cancelled) =
        crate::conversation::post(&caller, &format!("/api/v1/mcp/tasks/{task_id}/cancel"), &json!({})).await;
    assert_eq!(status, 200, "{cancelled}");
    // THEN the watcher gets its task_update, cancelled, without waiting for the provider
    let update = next(&mut socket).await;
    assert_eq!(
        (
            update["event_type"].as_str(),
            update["data"]["task_id"].as_str(),
            update["data"]["status"].as_str()
        ),
        (Some("task_update"), Some(task_id), Some("cancelled")),
        "{update}"
    );
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_connection_opened_with_a_jwt_ends_when_the_token_does() {
    // GIVEN a connection opened with a JWT that expires in 3 s
    let exp = chrono::Utc::now().timestamp() + 3;
    let token = jwt(&fresh_tenant("wsexp"), "viewer", &json!({"exp": exp}), &secret());
    let mut socket = connect_with(Some(("authorization", &format!("Bearer {token}"))), "")
        .await
        .unwrap();
    socket.send(heartbeat("hb-0")).await.unwrap();
    assert_eq!(next(&mut socket).await["event_type"], "welcome");
    assert_eq!(next(&mut socket).await["message_type"], "heartbeat");
    // WHEN it speaks after the token's expiry
    tokio::time::sleep(Duration::from_secs(4)).await;
    socket.send(heartbeat("hb-1")).await.unwrap();
    // THEN it is told its credentials expired, and closed
    let told = next(&mut socket).await;
    assert_eq!(told["error_code"], "UNAUTHORIZED_ACCESS", "{told}");
    let mut end = next(&mut socket).await;
    if end["error_code"] == "UNAUTHORIZED_ACCESS" {
        end = next(&mut socket).await;
    }
    assert!(end.get("closed").is_some(), "{end}");
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn revoking_a_key_closes_the_connections_it_opened() {
    // GIVEN a new viewer key of the local tenant, and a connection opened with it
    let admin = ("x-api-key", admin_key());
    let (status, created) =
        crate::conversation::post(&admin, "/api/v1/keys", &json!({"name": "ws revoke", "role": "viewer"})).await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    remember_secret(&key);
    let mut socket = connect_with(Some(("x-api-key", &key)), "").await.unwrap();
    socket.send(heartbeat("hb-0")).await.unwrap();
    assert_eq!(next(&mut socket).await["event_type"], "welcome");
    assert_eq!(next(&mut socket).await["message_type"], "heartbeat");
    // WHEN an admin revokes the key
    let url = format!(
        "{}/api/v1/keys/{}",
        crate::helpers::gateway_url(),
        created["key_id"].as_str().unwrap()
    );
    let (status, revoked) = crate::helpers::send_json(http().delete(url).header(admin.0, &admin.1)).await;
    assert_eq!(status, 200, "{revoked}");
    // THEN the connection is told why, then closed by the server
    let told = next(&mut socket).await;
    assert_eq!(told["error_code"], "INVALID_API_KEY", "{told}");
    assert!(next(&mut socket).await.get("closed").is_some());
}

/// The next message, or `{"closed": …}`, waiting at most `secs` seconds (`{"timeout": true}` past it).
async fn next_within(socket: &mut Socket, secs: u64) -> Value {
    match tokio::time::timeout(Duration::from_secs(secs), next(socket)).await {
        Ok(message) => message,
        Err(_) => json!({"timeout": true}),
    }
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_browser_without_headers_authenticates_with_its_first_message_or_is_closed() {
    // GIVEN a connection opened without credentials that sends {"type": "auth", "token": <key>}
    let mut socket = connect_with(None, "").await.unwrap();
    let auth = json!({"type": "auth", "token": admin_key()}).to_string();
    socket.send(Message::Text(auth.into())).await.unwrap();
    // THEN it is welcomed and then answered like any connection
    let welcome = next(&mut socket).await;
    assert_eq!(welcome["event_type"], "welcome", "{welcome}");
    socket.send(heartbeat("hb-1")).await.unwrap();
    assert_eq!(next(&mut socket).await["message_type"], "heartbeat");
    // AND one whose first message is anything else is closed without an answer
    let mut other = connect_with(None, "").await.unwrap();
    other.send(heartbeat("hb-0")).await.unwrap();
    assert!(next(&mut other).await.get("closed").is_some());
    // AND one that says nothing is closed once its 10 s have passed (the delayed check runs)
    let started = Instant::now();
    let mut silent = connect_with(None, "").await.unwrap();
    let end = next_within(&mut silent, 40).await;
    assert!(end.get("closed").is_some(), "{end}");
    assert!(started.elapsed() >= Duration::from_secs(10), "{:?}", started.elapsed());
}

/// One function's figures in a `system/performance` answer.
fn function_figures<'a>(figures: &'a Value, name: &str) -> &'a Value {
    figures["functions"]
        .as_array()
        .and_then(|all| all.iter().find(|f| f["function"] == name))
        .unwrap_or(&Value::Null)
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn system_performance_answers_the_figures_the_functions_recorded_for_the_tenant() {
    // GIVEN a fresh tenant that listed its contexts three times, looked up an unknown one, and had
    // one prompt answered
    let tenant = fresh_tenant("perf");
    let token = jwt(&tenant, "admin", &json!({}), &secret());
    remember_secret(&token);
    let caller = ("authorization", format!("Bearer {token}"));
    for _ in 0..3 {
        assert_eq!(crate::conversation::get(&caller, "/api/v1/mcp/contexts").await.0, 200);
    }
    let unknown = "/api/v1/mcp/contexts/ctx_0000000000000000000000000000";
    assert_eq!(crate::conversation::get(&caller, unknown).await.0, 404);
    let (status, created) = crate::conversation::post(&caller, "/api/v1/mcp/contexts", &json!({})).await;
    assert_eq!(status, 201, "{created}");
    let path = format!(
        "/api/v1/mcp/contexts/{}/prompt",
        created["context_id"].as_str().unwrap()
    );
    let (status, task) = crate::conversation::post(&caller, &path, &json!({"prompt": "count me"})).await;
    assert_eq!(status, 202, "{task}");
    let done = crate::conversation::finished(&caller, task["task_id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "completed", "{done}");
    // WHEN it asks system/performance over a socket (the worker counts the task as it publishes it,
    // so the ask is repeated for a few seconds until the task is counted)
    let mut socket = connect_with(Some(("authorization", &format!("Bearer {token}"))), "")
        .await
        .unwrap();
    let args = json!({"name": "system/performance", "arguments": {"minutes": 5}});
    let mut figures = Value::Null;
    for attempt in 0..20 {
        socket
            .send(request(&format!("perf-{attempt}"), "tools/call", &args))
            .await
            .unwrap();
        let mut answer = next(&mut socket).await;
        if answer["event_type"] == "welcome" {
            answer = next(&mut socket).await;
        }
        figures = answer["result"]["structuredContent"].clone();
        if figures["tasks"]["completed"]["count"] == 1 && !function_figures(&figures, "task-worker").is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // THEN it gets the tenant's own figures, exactly: each function's invocations and errors
    let listed = function_figures(&figures, "contexts-list");
    assert_eq!(
        (&listed["invocations"], &listed["client_errors"], &listed["errors"]),
        (&json!(3), &json!(0), &json!(0)),
        "{figures}"
    );
    assert!(listed["p50_ms"].as_u64().is_some_and(|ms| ms >= 1), "{listed}");
    let looked_up = function_figures(&figures, "contexts-get");
    assert_eq!(
        (&looked_up["invocations"], &looked_up["client_errors"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(
        function_figures(&figures, "contexts-prompt")["invocations"],
        1,
        "{figures}"
    );
    assert_eq!(function_figures(&figures, "task-worker")["invocations"], 1, "{figures}");
    // AND its task: started once after waiting in the queue, completed once
    assert_eq!(figures["tasks"]["started"]["count"], 1, "{figures}");
    assert_eq!(figures["tasks"]["completed"]["count"], 1, "{figures}");
    assert!(figures["tasks_finished_per_minute"].as_f64().unwrap() > 0.0);
    // AND the depth of every queue, as SQS counts it
    let queues = figures["queues"].as_array().unwrap();
    assert!(queues.len() >= 8, "{figures}");
    assert!(
        queues.iter().all(|q| q["waiting"].is_u64() && q["in_flight"].is_u64()),
        "{queues:?}"
    );
    // AND no other tenant's invocations are in it: the socket's own messages are the only ws-message ones
    let messages = function_figures(&figures, "ws-message")["invocations"]
        .as_u64()
        .unwrap_or(0);
    assert!(messages <= 20, "{figures}");
    // AND a viewer of the tenant gets the same figures without the system's queues
    let viewer = jwt(&tenant, "viewer", &json!({}), &secret());
    remember_secret(&viewer);
    let mut socket = connect_with(Some(("authorization", &format!("Bearer {viewer}"))), "")
        .await
        .unwrap();
    socket.send(request("perf-viewer", "tools/call", &args)).await.unwrap();
    assert_eq!(next(&mut socket).await["event_type"], "welcome");
    let seen = next(&mut socket).await;
    let seen = &seen["result"]["structuredContent"];
    assert_eq!(function_figures(seen, "contexts-list")["invocations"], 3, "{seen}");
    assert!(seen.get("queues").is_none(), "{seen}");
}

/// The client id of a fresh connection: its first message's welcome names it.
async fn client_id(socket: &mut Socket) -> String {
    socket.send(heartbeat("hello")).await.unwrap();
    let welcome = next(socket).await;
    assert_eq!(welcome["event_type"], "welcome", "{welcome}");
    assert_eq!(next(socket).await["request_id"], "hello");
    welcome["data"]["client_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_resources_watchers_get_its_update_and_its_deletion_however_they_subscribed() {
    // GIVEN a registered resource of a fresh tenant
    let tenant = fresh_tenant("res");
    let token = jwt(&tenant, "admin", &json!({}), &secret());
    remember_secret(&token);
    let caller = ("authorization", format!("Bearer {token}"));
    let uri = format!("docs://guide-{tenant}");
    let path = format!(
        "/api/v1/resources/{}",
        percent_encoding::utf8_percent_encode(&uri, percent_encoding::NON_ALPHANUMERIC)
    );
    let (status, created) = crate::conversation::post(
        &caller,
        "/api/v1/resources",
        &json!({"uri": uri, "name": "guide", "content": "v1"}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    // AND a connection subscribed over the socket, and one through the REST API by its client id
    let bearer = format!("Bearer {token}");
    let mut by_socket = connect_with(Some(("authorization", &bearer)), "").await.unwrap();
    let subscribed = first_subscribe(&mut by_socket, &format!("resource:{uri}")).await;
    assert_eq!(
        subscribed["result"]["subscribed"][0],
        format!("resource:{uri}"),
        "{subscribed}"
    );
    let mut by_rest = connect_with(Some(("authorization", &bearer)), "").await.unwrap();
    let id = client_id(&mut by_rest).await;
    let subscribe = format!("{path}/subscribe");
    let (status, answer) = crate::conversation::post(&caller, &subscribe, &json!({"connection_id": id})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["subscribed"], format!("resource:{uri}"));
    // WHEN the resource is replaced, then deleted
    let replaced = crate::helpers::send_json(
        http()
            .put(format!("{}{path}", crate::helpers::gateway_url()))
            .header("authorization", &bearer)
            .json(&json!({"uri": uri, "name": "guide", "content": "v2"})),
    )
    .await;
    assert_eq!(
        (replaced.0, &replaced.1["content"]),
        (200, &json!("v2")),
        "{}",
        replaced.1
    );
    let (_, read) = crate::conversation::get(&caller, &path).await;
    assert_eq!(read["content"], "v2");
    let deleted = crate::helpers::send_json(
        http()
            .delete(format!("{}{path}", crate::helpers::gateway_url()))
            .header("authorization", &bearer),
    )
    .await;
    assert_eq!(deleted.0, 200, "{}", deleted.1);
    // THEN both connections get its resource_update `updated`, then `deleted`
    for socket in [&mut by_socket, &mut by_rest] {
        for change in ["updated", "deleted"] {
            let event = next(socket).await;
            assert_eq!(
                (event["event_type"].as_str(), &event["data"]),
                (Some("resource_update"), &json!({"uri": uri, "change": change})),
                "{event}"
            );
        }
    }
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn another_tenants_resource_or_connection_is_refused_as_an_unknown_one() {
    // GIVEN a resource of one tenant and a connection of another
    let owner = bearer_of(&fresh_tenant("resowner"));
    let stranger = bearer_of(&fresh_tenant("resstranger"));
    let uri = format!("docs://private-{}", fresh_tenant("r"));
    let encoded = percent_encoding::utf8_percent_encode(&uri, percent_encoding::NON_ALPHANUMERIC).to_string();
    let body = json!({"uri": uri, "name": "private", "content": "secret plans"});
    assert_eq!(
        crate::conversation::post(&owner, "/api/v1/resources", &body).await.0,
        201
    );
    let mut strangers = connect_with(Some(("authorization", &stranger.1)), "").await.unwrap();
    let strangers_id = client_id(&mut strangers).await;
    // WHEN the stranger subscribes to it over its socket and through REST
    let topic = json!({"topics": [format!("resource:{uri}")]});
    strangers.send(request("sub-x", "subscribe", &topic)).await.unwrap();
    let refused = next(&mut strangers).await;
    let subscribe = format!("/api/v1/resources/{encoded}/subscribe");
    let by_rest = crate::conversation::post(&stranger, &subscribe, &json!({"connection_id": strangers_id})).await;
    // AND the owner names the stranger's connection
    let theirs = crate::conversation::post(&owner, &subscribe, &json!({"connection_id": strangers_id})).await;
    // THEN each is refused exactly as an unknown resource or connection would be
    assert_eq!(refused["error_code"], "UNAUTHORIZED_ACCESS", "{refused}");
    let unknown = crate::conversation::post(
        &stranger,
        "/api/v1/resources/none%3A%2F%2Fthing/subscribe",
        &json!({"connection_id": strangers_id}),
    )
    .await;
    assert_eq!(
        (by_rest.0, &by_rest.1["error"]["code"]),
        (404, &unknown.1["error"]["code"]),
        "{}",
        by_rest.1
    );
    assert_eq!(theirs.0, 404, "{}", theirs.1);
    assert_eq!(theirs.1["error"]["code"], "CONNECTION_NOT_FOUND");
    // AND a body without a connection id, or a replacement naming another URI, is a 400
    let empty = crate::conversation::post(&owner, &subscribe, &json!({})).await;
    assert_eq!(
        (empty.0, &empty.1["error"]["details"]["field"]),
        (400, &json!("connection_id"))
    );
    let moved = crate::helpers::send_json(
        http()
            .put(format!("{}/api/v1/resources/{encoded}", crate::helpers::gateway_url()))
            .header(owner.0, &owner.1)
            .json(&json!({"uri": "docs://elsewhere", "name": "private", "content": "x"})),
    )
    .await;
    assert_eq!(
        (moved.0, &moved.1["error"]["details"]["field"]),
        (400, &json!("uri")),
        "{}",
        moved.1
    );
}

fn bearer_of(tenant: &str) -> crate::helpers::Credential {
    let token = jwt(tenant, "admin", &json!({}), &secret());
    remember_secret(&token);
    ("authorization", format!("Bearer {token}"))
}
