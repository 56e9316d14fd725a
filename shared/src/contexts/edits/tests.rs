//! Node and context edits and cancellation, with in-memory stores.

use serde_json::json;

use super::*;
use crate::auth::{AuthMethod, Role};
use crate::conversation::memory::InMemory;
use crate::worker::Processed;
fn deps() -> Deps<InMemory, InMemory, InMemory> {
    Deps::in_memory().unwrap()
}

fn bob() -> Principal {
    Principal {
        tenant: "acme".try_into().unwrap(),
        subject: "bob".into(),
        role: Role::Operator,
        method: AuthMethod::Jwt,
    }
}

#[tokio::test]
async fn nodes_are_added_and_deleted_and_each_edit_is_a_completed_task() {
    let d = deps();
    let now = Utc::now();
    let (context, _) = d.create_context(&bob(), &json!({}), now).await.unwrap();
    let body = json!({"content": "{\"a\":1}", "content_type": "json", "metadata": {"role": "tool"}});
    let (added, task) = d.add_node(&bob(), &context.context_id, &body, now).await.unwrap();
    assert_eq!(
        (added.seq, task.task_type, task.status),
        (1, TaskType::AddNode, TaskStatus::Completed)
    );
    let bad = d
        .add_node(
            &bob(),
            &context.context_id,
            &json!({"content": "x", "content_type": "xml"}),
            now,
        )
        .await;
    assert!(matches!(bad, Err(ConversationError::Invalid(ref i)) if i.field == "content_type"));
    let deleted = d
        .delete_node(&bob(), &context.context_id, &added.node_id, now)
        .await
        .unwrap();
    assert_eq!(deleted.task_type, TaskType::DeleteNode);
    let again = d.delete_node(&bob(), &context.context_id, &added.node_id, now).await;
    assert!(matches!(again, Err(ConversationError::NodeNotFound(_))));
}

#[tokio::test]
async fn a_deleted_context_is_gone_and_deleting_it_again_is_not_found() {
    let d = deps();
    let now = Utc::now();
    let (context, _) = d
        .create_context(&bob(), &json!({"nodes": [{"content": "x"}]}), now)
        .await
        .unwrap();
    assert_eq!(
        d.delete_context(&bob(), &context.context_id, now)
            .await
            .unwrap()
            .task_type,
        TaskType::DeleteContext
    );
    assert!(matches!(
        d.context(&bob(), &context.context_id, now).await,
        Err(ConversationError::ContextNotFound(_))
    ));
    assert!(matches!(
        d.delete_context(&bob(), &context.context_id, now).await,
        Err(ConversationError::ContextNotFound(_))
    ));
}

#[tokio::test]
async fn a_cancelled_pending_prompt_never_runs_and_cannot_be_cancelled_twice() {
    let d = deps();
    let now = Utc::now();
    let (context, _) = d.create_context(&bob(), &json!({}), now).await.unwrap();
    let task = d
        .add_prompt(&bob(), &context.context_id, &json!({"prompt": "hi"}), now)
        .await
        .unwrap();
    assert_eq!(
        d.cancel_task(&bob(), &task.task_id, now).await.unwrap().status,
        TaskStatus::Cancelled
    );
    let message = d.queue.queued.lock().unwrap()[0].1.clone();
    assert_eq!(
        d.process(&message, now, crate::conversation::service::tests::budget())
            .await
            .unwrap(),
        Processed::AlreadyFinished
    );
    let nodes = d.context(&bob(), &context.context_id, now).await.unwrap().nodes;
    assert!(nodes.iter().all(|n| n.role() != "assistant"));
    let twice = d.cancel_task(&bob(), &task.task_id, now).await.unwrap_err();
    assert_eq!(twice.to_string(), format!("task {} is already cancelled", task.task_id));
}
