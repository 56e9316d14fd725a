//! The context and task handlers on their `events/` fixtures, with in-memory stores: each answers
//! exactly what `events/outcomes.txt` says the deployed function answers on a fresh stack.

use shared::audit::{AuditLog, InMemoryAuditLog};
use shared::conversation::memory::InMemory;

use super::*;
use crate::http::test_support::{body_json, event, event_edited};

fn deps() -> Deps<InMemory, InMemory, InMemory> {
    Deps::in_memory().unwrap()
}

fn audit() -> AuditDeps<InMemoryAuditLog> {
    AuditDeps {
        log: InMemoryAuditLog::default(),
        ttl_days: 1,
    }
}

#[tokio::test]
async fn contexts_create_answers_201_with_the_whole_context_it_asked_for_and_audits_it() {
    let (deps, audit) = (deps(), audit());
    let response = create(&deps, &audit, event("contexts-create", "operator"))
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    // The fixture sets `return_context`: the context comes back, with the system node it carried.
    let body = body_json(&response);
    assert!(body["context_id"].as_str().unwrap().starts_with("ctx_"), "{body}");
    assert_eq!(body["nodes"][0]["content"], "You are a helpful assistant.", "{body}");
    let logged = audit.log.list("local", 10, None).await.unwrap().entries;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].target.as_deref(), body["context_id"].as_str());
}

#[tokio::test]
async fn the_fixtures_of_an_unknown_context_or_task_answer_404_with_their_codes() {
    let (deps, audit) = (deps(), audit());
    let got = get(&deps, event("contexts-get", "operator")).await.unwrap();
    let prompted = prompt(&deps, &audit, event("contexts-prompt", "operator"))
        .await
        .unwrap();
    let asked = task(&deps, event("tasks-get", "operator")).await.unwrap();
    let answers: Vec<(u16, serde_json::Value)> = [got, prompted, asked]
        .iter()
        .map(|r| (r.status().as_u16(), body_json(r)["error"]["code"].clone()))
        .collect();
    assert_eq!(
        answers,
        [
            (404, "CONTEXT_NOT_FOUND".into()),
            (404, "CONTEXT_NOT_FOUND".into()),
            (404, "TASK_NOT_FOUND".into())
        ]
    );
}

#[tokio::test]
async fn the_prompt_fixture_on_a_context_that_exists_is_accepted_and_queued() {
    let (deps, audit) = (deps(), audit());
    let created = create(&deps, &audit, event("contexts-create", "operator"))
        .await
        .unwrap();
    let id = body_json(&created)["context_id"].as_str().unwrap().to_owned();
    let request = event_edited("contexts-prompt", "operator", |e| {
        e["pathParameters"]["contextID"] = id.clone().into();
        e["rawPath"] = format!("/api/v1/mcp/contexts/{id}/prompt").into();
    });
    let response = prompt(&deps, &audit, request).await.unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(body_json(&response)["status"], "pending");
    assert_eq!(deps.queue.groups.lock().unwrap().as_slice(), [id]);
}
