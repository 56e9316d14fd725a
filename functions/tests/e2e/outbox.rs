//! The transactional outbox: a prompt whose creator dies between storing it and queueing it is
//! queued by the `task-outbox` function (every 2 s in the test stack, entries older than 3 s) and
//! answered. The creator is the product's own `add_prompt` over the real table, killed in its send.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::auth_matrix::{bearer, jwt, secret};
use crate::conversation::{finished, get, post};
use crate::helpers::fresh_tenant;
use serde_json::json;
use shared::auth::{AuthMethod, Principal, Role};
use shared::aws::AwsClients;
use shared::contexts::dynamodb::DynamoDbContextStore;
use shared::conversation::service::Deps;
use shared::tasks::dynamodb::DynamoDbTaskStore;
use shared::tasks::model::Band;
use shared::tasks::store::{TaskMessage, TaskQueue};

/// A send that never returns: the creator is killed while it waits (its future is dropped).
#[derive(Clone, Default)]
struct DiesInSend(Arc<AtomicBool>);

impl TaskQueue for DiesInSend {
    async fn enqueue(&self, _: Band, _: &str, _: &TaskMessage) -> anyhow::Result<()> {
        self.0.store(true, Ordering::SeqCst);
        std::future::pending().await
    }
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_prompt_whose_creator_died_before_queueing_it_is_queued_by_the_outbox_and_answered() {
    // GIVEN a context, and a creator that stores a prompt in it and dies before sending its message
    let tenant = fresh_tenant("outbox");
    let caller = bearer(&jwt(&tenant, "operator", &json!({}), &secret()));
    let (status, created) = post(&caller, "/api/v1/mcp/contexts", &json!({"model_id": "local-echo"})).await;
    assert_eq!(status, 201, "{created}");
    let context_id = created["context_id"].as_str().unwrap().to_owned();
    let clients = AwsClients::load().await;
    let stack = std::env::var("STACK_NAME").unwrap_or_else(|_| "mcpflow-local".into());
    let table = format!("{stack}-Table");
    let in_send = DiesInSend::default();
    let base = Deps::in_memory().unwrap();
    let creator = Deps {
        contexts: DynamoDbContextStore::new(clients.dynamodb.clone(), table.clone()),
        tasks: DynamoDbTaskStore::new(clients.dynamodb.clone(), table),
        queue: in_send.clone(),
        providers: base.providers,
        default_model: base.default_model,
        limits: base.limits,
        updates: None,
        metrics: None,
        tool_specs: None,
        tools: None,
    };
    let principal = Principal {
        tenant: tenant.as_str().try_into().unwrap(),
        subject: "alice".into(),
        role: Role::Operator,
        method: AuthMethod::Jwt,
    };
    let body = json!({"prompt": "Are you still there?"});
    let prompt = creator.add_prompt(&principal, &context_id, &body, chrono::Utc::now());
    let reached_send = async {
        while !in_send.0.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    // Dropping the creator's future where it waits in its send is its death.
    tokio::select! {
        done = prompt => panic!("the send never returns, yet the prompt did: {done:?}"),
        _ = tokio::time::timeout(Duration::from_secs(10), reached_send) => {}
    }
    assert!(
        in_send.0.load(Ordering::SeqCst),
        "the creator reached its send within 10 s"
    );

    // WHEN the outbox sweep runs: THEN the stored prompt's task is queued and completes
    let (status, listed) = get(&caller, &format!("/api/v1/mcp/tasks?context_id={context_id}")).await;
    assert_eq!(status, 200, "{listed}");
    let prompts: Vec<&serde_json::Value> = listed["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["type"] == "mcp.add_prompt")
        .collect();
    assert_eq!(prompts.len(), 1, "the orphaned prompt's task is stored: {listed}");
    let task_id = prompts[0]["task_id"].as_str().unwrap().to_owned();
    let task = finished(&caller, &task_id).await;
    assert_eq!(task["status"], "completed", "{task}");
    let (_, context) = get(&caller, &format!("/api/v1/mcp/contexts/{context_id}")).await;
    let nodes: Vec<(&str, &str)> = context["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["metadata"]["role"].as_str().unwrap(), n["content"].as_str().unwrap()))
        .collect();
    assert_eq!(nodes.len(), 2, "{context}");
    assert_eq!(nodes[0], ("user", "Are you still there?"));
    assert_eq!(nodes[1].0, "assistant");
}
