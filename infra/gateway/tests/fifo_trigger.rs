//! FIFO semantics through the gateway's poller and moto (with `infra/stack/moto_server.py`'s fix):
//! a group's messages reach the function one after another in the order sent, also when a batch
//! fails and its messages come back together; other groups are not held up.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use gateway::invoke::LambdaInvoker;
use gateway::local::{lambda_client, sqs_sources};
use gateway::poller::poll_once;
use gateway::provision::{provision, Stack};
use gateway::template::Template;
use serde_json::{json, Value};
use shared::aws::AwsClients;

/// What the function saw: bodies acknowledged in order, and deliveries that overtook an earlier one.
#[derive(Default)]
struct Log {
    done: Vec<String>,
    overtaken: Vec<String>,
    failed_once: bool,
}

type Shared = Arc<Mutex<Log>>;

/// Fails its first batch whole; afterwards acknowledges every record, noting any record of group
/// `g` delivered while an earlier body of `g` was not yet acknowledged.
async fn invocations(State(log): State<Shared>, body: String) -> axum::Json<Value> {
    let event: Value = serde_json::from_str(&body).unwrap();
    let records = event["Records"].as_array().unwrap();
    let mut log = log.lock().unwrap();
    if !log.failed_once {
        log.failed_once = true;
        let all: Vec<Value> = records
            .iter()
            .map(|r| json!({"itemIdentifier": r["messageId"]}))
            .collect();
        return axum::Json(json!({ "batchItemFailures": all }));
    }
    for record in records {
        let body = record["body"].as_str().unwrap().to_owned();
        if let Some(k) = body.strip_prefix('m') {
            let k: usize = k.parse().unwrap();
            let earlier_done = (0..k).all(|j| log.done.contains(&format!("m{j}")));
            if !earlier_done {
                log.overtaken.push(body.clone());
            }
        }
        if !log.done.contains(&body) {
            log.done.push(body);
        }
    }
    axum::Json(json!({ "batchItemFailures": [] }))
}

async fn function(log: Shared) -> LambdaInvoker {
    let app = axum::Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invocations))
        .with_state(log);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let lambda = lambda_client(&sdk).config().to_builder().endpoint_url(endpoint);
    LambdaInvoker::new(aws_sdk_lambda::Client::from_conf(lambda.build()))
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_fifo_group_is_delivered_in_order_also_after_a_failed_batch() {
    // GIVEN the FIFO fixture provisioned, and four messages of group g and one of group h sent
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sqs-fifo-trigger.yaml");
    let template = Template::load(&path).unwrap();
    let clients = AwsClients::load().await;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let stack = Stack {
        name: format!("e2e-fifo-{}", &id[..8]),
        region: "us-east-1".into(),
        account: "123456789012".into(),
    };
    provision(&template, &clients, &stack)
        .await
        .expect(crate::helpers::NEEDS_STACK);
    let source = sqs_sources(&template, &clients, &stack).await.unwrap().remove(0);
    assert!(source.queue_url.ends_with(".fifo"), "{}", source.queue_url);
    for (body, group) in [("m0", "g"), ("m1", "g"), ("n0", "h"), ("m2", "g"), ("m3", "g")] {
        let send = clients
            .sqs
            .send_message()
            .queue_url(&source.queue_url)
            .message_body(body);
        send.message_group_id(group)
            .message_deduplication_id(body)
            .send()
            .await
            .unwrap();
    }
    // WHEN the poller runs (the first batch fails whole and comes back after 1 s) until all are done
    let log: Shared = Arc::default();
    let invoker = function(Arc::clone(&log)).await;
    for _ in 0..40 {
        poll_once(&clients.sqs, &invoker, &source).await.unwrap();
        if log.lock().unwrap().done.len() == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // THEN every message was acknowledged, group g in the order sent, none overtaking another
    let log = log.lock().unwrap();
    let g: Vec<&str> = log
        .done
        .iter()
        .map(String::as_str)
        .filter(|b| b.starts_with('m'))
        .collect();
    assert_eq!(g, ["m0", "m1", "m2", "m3"]);
    assert!(log.done.contains(&"n0".to_owned()), "{:?}", log.done);
    assert!(
        log.overtaken.is_empty(),
        "delivered before an earlier message: {:?}",
        log.overtaken
    );
}
