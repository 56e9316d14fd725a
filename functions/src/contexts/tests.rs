//! The context and task handlers on their `events/` fixtures, with in-memory stores: each answers
//! exactly what `events/outcomes.txt` says the deployed function answers on a fresh stack.

use super::*;
use crate::api::serve;
use crate::api::test_support::{conversation, entries};
use crate::http::test_support::{body_json, event, event_edited};
use crate::tasks;

#[tokio::test]
async fn contexts_create_answers_201_with_the_whole_context_it_asked_for_and_audits_it() {
    let app = conversation();
    let response = serve(&app, create, event("contexts-create", "operator")).await;
    assert_eq!(response.status(), 201);
    // The fixture sets `return_context`: the context comes back, with the system node it carried.
    let body = body_json(&response);
    assert!(body["context_id"].as_str().unwrap().starts_with("ctx_"), "{body}");
    assert_eq!(body["nodes"][0]["content"], "You are a helpful assistant.", "{body}");
    let logged = entries(&app).await;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].target.as_deref(), body["context_id"].as_str());
}

#[tokio::test]
async fn the_fixtures_of_an_unknown_context_or_task_answer_404_with_their_codes() {
    let app = conversation();
    let got = serve(&app, get, event("contexts-get", "operator")).await;
    let prompted = serve(&app, prompt, event("contexts-prompt", "operator")).await;
    let asked = serve(&app, tasks::get, event("tasks-get", "operator")).await;
    let added = serve(&app, add_node, event("contexts-add-node", "operator")).await;
    let node_deleted = serve(&app, delete_node, event("contexts-delete-node", "operator")).await;
    let deleted = serve(&app, delete, event("contexts-delete", "operator")).await;
    let answers: Vec<(u16, serde_json::Value)> = [got, prompted, asked, added, node_deleted, deleted]
        .iter()
        .map(|r| (r.status().as_u16(), body_json(r)["error"]["code"].clone()))
        .collect();
    assert_eq!(
        answers,
        [
            (404, "CONTEXT_NOT_FOUND".into()),
            (404, "CONTEXT_NOT_FOUND".into()),
            (404, "TASK_NOT_FOUND".into()),
            (404, "CONTEXT_NOT_FOUND".into()),
            (404, "CONTEXT_NOT_FOUND".into()),
            (404, "CONTEXT_NOT_FOUND".into()),
        ]
    );
}

#[tokio::test]
async fn the_listing_fixtures_answer_200_with_a_page() {
    let app = conversation();
    let contexts = serve(&app, list, event("contexts-list", "operator")).await;
    let tasks = serve(&app, tasks::list, event("tasks-list", "operator")).await;
    assert_eq!((contexts.status().as_u16(), tasks.status().as_u16()), (200, 200));
    assert_eq!(
        body_json(&contexts),
        serde_json::json!({"contexts": [], "next_cursor": null})
    );
    assert_eq!(body_json(&tasks), serde_json::json!({"tasks": [], "next_cursor": null}));
}

#[tokio::test]
async fn the_prompt_fixture_on_a_context_that_exists_is_accepted_and_queued() {
    let app = conversation();
    let created = serve(&app, create, event("contexts-create", "operator")).await;
    let id = body_json(&created)["context_id"].as_str().unwrap().to_owned();
    let request = event_edited("contexts-prompt", "operator", |e| {
        e["pathParameters"]["contextID"] = id.clone().into();
        e["rawPath"] = format!("/api/v1/mcp/contexts/{id}/prompt").into();
    });
    let response = serve(&app, prompt, request).await;
    assert_eq!(response.status(), 202);
    assert_eq!(body_json(&response)["status"], "pending");
    assert_eq!(app.deps.queue.groups.lock().unwrap().as_slice(), [id]);
}
