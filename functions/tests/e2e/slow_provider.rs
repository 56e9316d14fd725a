//! Real-speed providers: the task worker against the slow, failing OpenAI-compatible stand-in
//! (`infra/stack/llm_standin.py`, model `standin`). `make test` sets `TaskDeadlineSeconds=20`.

use serde_json::json;

use crate::auth_matrix::{bearer, jwt, secret};
use crate::conversation::{finished_within, get, post};
use crate::helpers::{fresh_tenant, Credential};

async fn context(caller: &Credential) -> String {
    let (status, created) = post(caller, "/api/v1/mcp/contexts", &json!({"model_id": "standin"})).await;
    assert_eq!(status, 201, "{created}");
    created["context_id"].as_str().unwrap().to_owned()
}

async fn prompt(caller: &Credential, context_id: &str, text: &str) -> String {
    let body = json!({"prompt": text, "priority": "high"});
    let (status, accepted) = post(caller, &format!("/api/v1/mcp/contexts/{context_id}/prompt"), &body).await;
    assert_eq!(status, 202, "{accepted}");
    accepted["task_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn three_prompts_to_a_provider_taking_15_s_a_reply_all_complete_in_order() {
    // GIVEN a context on the stand-in, and three prompts sent back to back, each answered after 15 s
    let caller = bearer(&jwt(&fresh_tenant("slow"), "operator", &json!({}), &secret()));
    let id = context(&caller).await;
    let mut tasks = Vec::new();
    for word in ["one", "two", "three"] {
        tasks.push(prompt(&caller, &id, &format!("[sleep 15] {word}")).await);
    }
    // WHEN they have run (one after another: at least 45 s)
    let mut outputs = Vec::new();
    for task in &tasks {
        let done = finished_within(&caller, task, 120).await;
        assert_eq!(done["status"], "completed", "{done}");
        outputs.push(done["output"].as_str().unwrap().to_owned());
    }
    // THEN each reply was computed after the one before it was stored: 1, 3 and 5 messages
    assert_eq!(
        outputs,
        [
            "standin: 1 message(s); last: [sleep 15] one",
            "standin: 3 message(s); last: [sleep 15] two",
            "standin: 5 message(s); last: [sleep 15] three",
        ]
    );
    let (_, ctx) = get(&caller, &format!("/api/v1/mcp/contexts/{id}")).await;
    let contents: Vec<&str> = ctx["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents.len(), 6, "{ctx}");
    assert_eq!(contents[5], outputs[2]);
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_provider_that_hangs_fails_the_task_with_provider_timeout_and_the_next_prompt_then_runs() {
    // GIVEN a prompt the stand-in never answers, and a second prompt behind it in the same context
    let caller = bearer(&jwt(&fresh_tenant("hang"), "operator", &json!({}), &secret()));
    let id = context(&caller).await;
    let hung = prompt(&caller, &id, "[hang] are you there?").await;
    let next = prompt(&caller, &id, "and now?").await;
    // WHEN the first reaches its 20 s deadline
    let failed = finished_within(&caller, &hung, 90).await;
    // THEN it failed with PROVIDER_TIMEOUT, visible on the task, and the second ran after it
    assert_eq!(
        (failed["status"].as_str(), failed["error_code"].as_str()),
        (Some("failed"), Some("PROVIDER_TIMEOUT")),
        "{failed}"
    );
    let done = finished_within(&caller, &next, 60).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["output"], "standin: 2 message(s); last: and now?");
}
