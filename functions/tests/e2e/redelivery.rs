//! At-least-once delivery, exactly-once effect: the same task message delivered twice through the real
//! task queue (moto) and the gateway's poller gives one completion and one reply.

use std::time::Duration;

use serde_json::json;
use shared::aws::AwsClients;

use crate::auth_matrix::{bearer, jwt, secret};
use crate::conversation::{finished, get, post, roles};
use crate::helpers::{fresh_tenant, Credential};

/// The URL of the high-band task queue of the stack under test.
async fn high_queue(clients: &AwsClients) -> String {
    let stack = std::env::var("STACK_NAME").unwrap_or_else(|_| "mcpflow-local".into());
    let out = clients
        .sqs
        .get_queue_url()
        .queue_name(format!("{stack}-TaskQueueHigh.fifo"))
        .send()
        .await;
    out.expect(crate::helpers::NEEDS_STACK).queue_url.unwrap()
}

/// Waits until the queue holds no message, visible or in flight: at most 120 s, since other tests
/// share the high-band queue (the slow-provider test keeps its prompts there for about a minute).
async fn drained(clients: &AwsClients, url: &str) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    for _ in 0..240 {
        let attrs = clients
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(A::All)
            .send()
            .await
            .unwrap();
        let count = |a: A| {
            attrs
                .attributes()
                .and_then(|m| m.get(&a))
                .map_or(0, |v| v.parse::<u64>().unwrap_or(0))
        };
        if count(A::ApproximateNumberOfMessages) + count(A::ApproximateNumberOfMessagesNotVisible) == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("the task queue was not drained within 120 s");
}

async fn prompt(caller: &Credential, tenant: &str) -> (String, String) {
    let (status, created) = post(caller, "/api/v1/mcp/contexts", &json!({"model_id": "local-echo"})).await;
    assert_eq!(status, 201, "{created}");
    let id = created["context_id"].as_str().unwrap().to_owned();
    let body = json!({"prompt": "Say it once.", "priority": "high"});
    let (status, accepted) = post(caller, &format!("/api/v1/mcp/contexts/{id}/prompt"), &body).await;
    assert_eq!(status, 202, "{accepted}; tenant {tenant}");
    (id, accepted["task_id"].as_str().unwrap().to_owned())
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn the_same_task_message_delivered_twice_completes_once_with_one_reply() {
    // GIVEN a prompt just accepted, and a duplicate of its queue message sent right after
    let tenant = fresh_tenant("dup");
    let caller = bearer(&jwt(&tenant, "operator", &json!({}), &secret()));
    let (context_id, task_id) = prompt(&caller, &tenant).await;
    let clients = AwsClients::load().await;
    let duplicate = json!({"tenant": tenant, "task_id": task_id}).to_string();
    clients
        .sqs
        .send_message()
        .queue_url(high_queue(&clients).await)
        .message_body(duplicate)
        // Another deduplication id, so SQS takes it as a second message (an at-least-once repeat).
        .message_group_id(&context_id)
        .message_deduplication_id(format!("{task_id}-again"))
        .send()
        .await
        .unwrap();
    // WHEN both deliveries have been processed (the queue is empty again)
    let task = finished(&caller, &task_id).await;
    drained(&clients, &high_queue(&clients).await).await;
    // THEN the task ran once and the context holds one reply
    assert_eq!(
        (task["status"].as_str(), task["attempts"].as_u64()),
        (Some("completed"), Some(1)),
        "{task}"
    );
    let (_, again) = get(&caller, &format!("/api/v1/mcp/tasks/{task_id}")).await;
    assert_eq!(again["attempts"], 1, "a redelivery ran the task again: {again}");
    assert_eq!(roles(&caller, &context_id).await, ["user", "assistant"]);
}
