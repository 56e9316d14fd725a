//! SQS triggers through the gateway's poller, against moto's real SQS: delivery as an SQS event,
//! deletion on success, redelivery of reported `batchItemFailures`, and the dead-letter queue after
//! `maxReceiveCount` receives. The function is a small Lambda Invoke API served by the test, reached
//! through the AWS SDK's Lambda client exactly as `cargo lambda watch` is.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::MessageAttributeValue;
use axum::extract::State;
use axum::routing::post;
use gateway::invoke::LambdaInvoker;
use gateway::local::{lambda_client, sqs_sources};
use gateway::poller::{poll_once, SqsSource};
use gateway::provision::{provision, Provisioned, Stack};
use gateway::template::Template;
use serde_json::{json, Value};
use shared::aws::AwsClients;

type Seen = Arc<Mutex<Vec<Value>>>;

/// The function: `ok` succeeds, `retry-once` fails on its first receive, `poison` always fails.
async fn invocations(State(seen): State<Seen>, body: String) -> axum::Json<Value> {
    let event: Value = serde_json::from_str(&body).unwrap();
    let mut failures = Vec::new();
    for record in event["Records"].as_array().unwrap() {
        seen.lock().unwrap().push(record.clone());
        let first = record["attributes"]["ApproximateReceiveCount"] == "1";
        match record["body"].as_str().unwrap() {
            "poison" => failures.push(json!({"itemIdentifier": record["messageId"]})),
            "retry-once" if first => failures.push(json!({"itemIdentifier": record["messageId"]})),
            _ => {}
        }
    }
    axum::Json(json!({ "batchItemFailures": failures }))
}

async fn spawn_function(seen: Seen) -> String {
    let app = axum::Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invocations))
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// The provisioned fixture stack, its one SQS source, and the test function wired to it.
struct Fixture {
    clients: AwsClients,
    provisioned: Provisioned,
    source: SqsSource,
    seen: Seen,
    invoker: LambdaInvoker,
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn sqs_messages_are_delivered_deleted_redelivered_and_dead_lettered() {
    // GIVEN the fixture template provisioned on moto under a stack name of its own
    let fx = given_the_fixture_stack().await;

    // WHEN three messages are sent and the poller runs until the queue is drained
    when_messages_are_sent(&fx, &["ok", "retry-once", "poison"]).await;
    let dead = when_the_poller_drains_the_queue(&fx).await;

    // THEN ok arrived once, retry-once twice, poison twice and then went to the dead-letter queue
    then_each_body_was_delivered_as_expected(&fx, &dead);
    then_the_source_queue_is_empty(&fx).await;
}

async fn given_the_fixture_stack() -> Fixture {
    let template =
        Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sqs-trigger.yaml")).unwrap();
    let clients = AwsClients::load().await;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let stack = Stack {
        name: format!("e2e-sqs-{}", &id[..8]),
        region: "us-east-1".into(),
        account: "123456789012".into(),
    };
    let provisioned = provision(&template, &clients, &stack)
        .await
        .expect(crate::helpers::NEEDS_STACK);
    let source = sqs_sources(&template, &clients, &stack).await.unwrap().remove(0);
    assert_eq!(
        (
            source.function.as_str(),
            source.batch_size,
            source.report_batch_item_failures
        ),
        ("probe", 5, true)
    );
    let seen: Seen = Arc::default();
    let invoker = given_the_function(Arc::clone(&seen)).await;
    Fixture {
        clients,
        provisioned,
        source,
        seen,
        invoker,
    }
}

/// The test function, reached through the SDK's Lambda client as `cargo lambda watch` is.
async fn given_the_function(seen: Seen) -> LambdaInvoker {
    let endpoint = spawn_function(seen).await;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let lambda = lambda_client(&sdk).config().to_builder().endpoint_url(endpoint);
    LambdaInvoker::new(aws_sdk_lambda::Client::from_conf(lambda.build()))
}

async fn when_messages_are_sent(fx: &Fixture, bodies: &[&str]) {
    let attr = MessageAttributeValue::builder()
        .data_type("String")
        .string_value("e2e")
        .build()
        .unwrap();
    for body in bodies {
        let send = fx
            .clients
            .sqs
            .send_message()
            .queue_url(&fx.source.queue_url)
            .message_body(*body);
        send.message_attributes("origin", attr.clone()).send().await.unwrap();
    }
}

/// Polls until five deliveries were seen and the dead-letter queue gave something; returns its bodies.
async fn when_the_poller_drains_the_queue(fx: &Fixture) -> Vec<String> {
    let dlq_url = &fx.provisioned.resources["WorkDLQ"].reference;
    let mut dead = Vec::new();
    for _ in 0..30 {
        poll_once(&fx.clients.sqs, &fx.invoker, &fx.source).await.unwrap();
        let got = fx
            .clients
            .sqs
            .receive_message()
            .queue_url(dlq_url)
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap();
        dead.extend(got.messages.unwrap_or_default().into_iter().filter_map(|m| m.body));
        let deliveries = fx.seen.lock().unwrap().len();
        if deliveries >= 5 && !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    dead
}

fn then_each_body_was_delivered_as_expected(fx: &Fixture, dead: &[String]) {
    let records = fx.seen.lock().unwrap().clone();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in &records {
        *counts.entry(r["body"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    assert_eq!(
        counts,
        BTreeMap::from([("ok".into(), 1), ("poison".into(), 2), ("retry-once".into(), 2)])
    );
    assert_eq!(dead, ["poison"]);
    let first = &records[0];
    assert_eq!(first["eventSource"], "aws:sqs");
    assert_eq!(first["eventSourceARN"], fx.source.queue_arn.as_str());
    assert_eq!(first["awsRegion"], "us-east-1");
    assert_eq!(first["messageAttributes"]["origin"]["stringValue"], "e2e");
}

async fn then_the_source_queue_is_empty(fx: &Fixture) {
    let left = fx
        .clients
        .sqs
        .receive_message()
        .queue_url(&fx.source.queue_url)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    assert!(
        left.messages.unwrap_or_default().is_empty(),
        "the source queue must be empty"
    );
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_batching_window_gathers_messages_sent_while_it_is_open_into_one_invocation() {
    // GIVEN the fixture's source (BatchSize 5) with a batching window, kept under the queue's 1 s
    // visibility timeout (a longer window would see its first messages come back and take them twice)
    let fx = given_the_fixture_stack().await;
    let mut source = fx.source.clone();
    source.batching_window = Duration::from_millis(900);

    // WHEN one message is sent, and two more 200 ms into the window
    when_messages_are_sent(&fx, &["ok"]).await;
    let late = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        when_messages_are_sent(&fx, &["ok", "ok"]).await;
    };
    let (polled, ()) = tokio::join!(poll_once(&fx.clients.sqs, &fx.invoker, &source), late);
    polled.unwrap();

    // THEN one invocation carried all three (without the window, it would have carried the first alone)
    let seen = fx.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    then_the_source_queue_is_empty(&fx).await;
}
