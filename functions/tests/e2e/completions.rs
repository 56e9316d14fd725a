//! Completions through the local gateway, answered by the worker from moto's queues: messages reach
//! a slow OpenAI-compatible stand-in over HTTP; `"wait": true` answers the finished completion (also a
//! failed one); a slow one is cancelled while it runs; another tenant's is unknown.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::auth_matrix::{bearer, jwt, secret};
use crate::conversation::{get, post};
use crate::helpers::{fresh_tenant, gateway_url, http, send_json, Credential};

const ROUTE: &str = "/api/v1/completions";

fn operator(tenant: &str) -> Credential {
    bearer(&jwt(tenant, "operator", &json!({}), &secret()))
}

async fn delete(caller: &Credential, path: &str) -> (u16, Value) {
    send_json(
        http()
            .delete(format!("{}{path}", gateway_url()))
            .header(caller.0, &caller.1),
    )
    .await
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn messages_reach_the_slow_standin_and_wait_answers_the_finished_completion() {
    // GIVEN an operator
    let caller = operator(&fresh_tenant("completions"));
    // WHEN it asks the stand-in (2 s a reply) three messages and waits
    let body = json!({"model_id": "standin", "wait": true, "messages": [
        {"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Hi"},
        {"role": "user", "content": "Capital of France? [sleep 2]"}]});
    let asked = Instant::now();
    let (status, done) = post(&caller, ROUTE, &body).await;
    // THEN the answer is the finished completion, computed from all three messages
    assert_eq!(status, 200, "{done}");
    assert!(asked.elapsed() >= Duration::from_secs(2));
    assert_eq!(
        (done["status"].as_str(), done["provider"].as_str()),
        (Some("completed"), Some("standin"))
    );
    assert_eq!(
        done["result"], "standin: 3 message(s); last: Capital of France? [sleep 2]",
        "{done}"
    );
    assert!(done["timings"]["run_ms"].as_i64().unwrap() >= 2_000, "{done}");
    assert!(done["usage"]["output_tokens"].as_u64().is_some(), "{done}");
    // AND it reads back the same
    let id = done["completion_id"].as_str().unwrap();
    let (status, read) = get(&caller, &format!("{ROUTE}/{id}")).await;
    assert_eq!((status, &read["result"]), (200, &done["result"]));
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_failing_provider_and_a_hanging_one_are_failures_the_caller_sees() {
    let caller = operator(&fresh_tenant("completions-fail"));
    // A provider answering 500 every time: the completion fails after its retries, with the code
    let body = json!({"model_id": "standin", "wait": true, "prompt": "hi [status 500]"});
    let (status, failed) = post(&caller, ROUTE, &body).await;
    assert_eq!(status, 200, "{failed}");
    assert_eq!(
        (failed["status"].as_str(), failed["error"]["code"].as_str()),
        (Some("failed"), Some("PROVIDER_FAILED"))
    );
    assert!(failed["result"].is_null(), "{failed}");
    // A provider that never answers: failed at the task's deadline (20 s on the test stack), inside
    // the wait's 25 s
    let body = json!({"model_id": "standin", "wait": true, "prompt": "hi [hang]"});
    let (status, hung) = post(&caller, ROUTE, &body).await;
    assert_eq!(status, 200, "{hung}");
    assert_eq!(hung["error"]["code"], "PROVIDER_TIMEOUT", "{hung}");
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_running_completion_is_cancelled_and_stays_another_tenants_secret() {
    // GIVEN a completion the stand-in answers only after 8 s
    let tenant = fresh_tenant("completions-cancel");
    let caller = operator(&tenant);
    let asked = Instant::now();
    let (status, queued) = post(
        &caller,
        ROUTE,
        &json!({"model_id": "standin", "prompt": "slow [sleep 8]"}),
    )
    .await;
    assert_eq!((status, queued["status"].as_str()), (202, Some("pending")), "{queued}");
    let path = format!("{ROUTE}/{}", queued["completion_id"].as_str().unwrap());
    // WHEN it is running
    let mut running = false;
    for _ in 0..100 {
        let (_, now) = get(&caller, &path).await;
        if now["status"] == "running" {
            running = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(running, "never started");
    // THEN a viewer may not cancel it, another tenant does not see it, its operator cancels it
    let viewer = bearer(&jwt(&tenant, "viewer", &json!({}), &secret()));
    assert_eq!(delete(&viewer, &path).await.0, 403);
    let stranger = operator(&fresh_tenant("completions-other"));
    let (status, unknown) = get(&stranger, &path).await;
    assert_eq!(
        (status, unknown["error"]["code"].as_str()),
        (404, Some("COMPLETION_NOT_FOUND"))
    );
    assert_eq!(delete(&stranger, &path).await.0, 404);
    let (status, cancelled) = delete(&caller, &path).await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
    // AND the worker drops the provider call at its next check (every 2 s), before the stand-in's
    // answer at 8 s, and logs it
    let id = queued["completion_id"].as_str().unwrap();
    let mut dropped = None;
    for _ in 0..50 {
        let (_, logs) = get(&caller, "/api/v1/logs?kind=task").await;
        dropped = logs["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["fields"]["task_id"] == id && e["message"].as_str().unwrap().contains("dropped"))
            .cloned();
        if dropped.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // (The event is written only when the cancel check wins over the call: a call that ran to the
    // stand-in's answer at 8 s would have ended first.)
    let dropped = dropped.expect("no event says the provider call was dropped");
    assert!(dropped["fields"]["call_ms"].as_u64().unwrap() < 8_000, "{dropped}");
    // AND it stays cancelled without a result once the stand-in's late answer has come; a second
    // cancel is 409
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(asked.elapsed())).await;
    let (_, read) = get(&caller, &path).await;
    assert_eq!(
        (read["status"].as_str(), read["result"].as_str()),
        (Some("cancelled"), None)
    );
    assert_eq!(delete(&caller, &path).await.0, 409);
    // AND a context's task is not a completion
    let (_, context) = post(&caller, "/api/v1/mcp/contexts", &json!({})).await;
    let task = context["task_id"].as_str().unwrap();
    assert_eq!(get(&caller, &format!("{ROUTE}/{task}")).await.0, 404);
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_completion_through_an_integration_runs_its_provider_model() {
    // GIVEN an integration on the stand-in's provider with a model name of its own
    let caller = operator(&fresh_tenant("completions-itg"));
    let integration = json!({"name": "via stand-in", "model": {"provider": "standin",
        "provider_model": "standin-through-an-integration",
        "parameters": {"max_tokens": 50, "temperature": 0.2, "top_p": 0.9, "stop": ["END"]}}});
    let (status, made) = post(&caller, "/api/v1/integrations", &integration).await;
    assert_eq!(status, 201, "{made}");
    let id = made["integration_id"].as_str().unwrap();
    // WHEN a completion is asked through it
    let body = json!({"integration_id": id, "wait": true, "prompt": "hi [sleep 1]"});
    let (status, done) = post(&caller, ROUTE, &body).await;
    // THEN the stand-in answered it, asked for the integration's model
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (
            done["status"].as_str(),
            done["provider"].as_str(),
            done["model"].as_str()
        ),
        (
            Some("completed"),
            Some("standin"),
            Some("standin-through-an-integration")
        ),
        "{done}"
    );
    assert_eq!(
        (done["integration_id"].as_str(), &done["model_id"]),
        (Some(id), &Value::Null)
    );
    // AND with the integration's sampling parameters, which the stand-in repeats
    let result = done["result"].as_str().unwrap();
    assert!(
        result.ends_with(r#"sampled {"stop": ["END"], "temperature": 0.2, "top_p": 0.9}"#),
        "{result}"
    );
    // AND while a completion through it is still running, the integration is not deleted (409)
    let slow = json!({"integration_id": id, "prompt": "slow [sleep 3]"});
    let (status, running) = post(&caller, ROUTE, &slow).await;
    assert_eq!(status, 202, "{running}");
    let path = format!("/api/v1/integrations/{id}");
    let (status, refused) = delete(&caller, &path).await;
    assert_eq!(
        (
            status,
            refused["error"]["code"].as_str(),
            &refused["error"]["details"]["completion_id"]
        ),
        (409, Some("INTEGRATION_IN_USE"), &running["completion_id"]),
        "{refused}"
    );
    // AND once it has finished, it is
    let waited = crate::conversation::finished(&caller, running["completion_id"].as_str().unwrap()).await;
    assert_eq!(waited["status"], "completed", "{waited}");
    assert_eq!(delete(&caller, &path).await.0, 200);
    // AND an unknown integration is 404; one whose provider the stack has no key for is 400
    let unknown = json!({"integration_id": "itg_0000000000000000000000000000", "prompt": "hi"});
    let (status, refused) = post(&caller, ROUTE, &unknown).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (404, Some("INTEGRATION_NOT_FOUND"))
    );
    let keyless = json!({"name": "no key", "model": {"provider": "openai", "provider_model": "gpt-4o-mini"}});
    let (_, made) = post(&caller, "/api/v1/integrations", &keyless).await;
    let body = json!({"integration_id": made["integration_id"], "prompt": "hi"});
    let (status, refused) = post(&caller, ROUTE, &body).await;
    assert_eq!(
        (status, refused["error"]["details"]["field"].as_str()),
        (400, Some("integration_id")),
        "{refused}"
    );
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_completion_through_an_integration_sends_the_key_of_its_tenants_secret() {
    // GIVEN a key in a Secrets Manager secret under the tenant's prefix, and an integration naming it
    let tenant = fresh_tenant("completions-secret");
    let caller = operator(&tenant);
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let key = format!("sk-e2e-{}", uuid::Uuid::new_v4().simple());
    crate::helpers::remember_secret(&key);
    let name = format!("mcpflow/tenants/{tenant}/standin");
    let created = secrets.create_secret().name(&name).secret_string(&key).send().await;
    let arn = created.expect(crate::helpers::NEEDS_STACK).arn.unwrap();
    let integration = json!({"name": "own key", "model": {"provider": "standin", "provider_model": "standin",
        "credential": {"secret_arn": arn}}});
    let (status, made) = post(&caller, "/api/v1/integrations", &integration).await;
    assert_eq!(status, 201, "{made}");
    // WHEN a completion is asked through it
    let body = json!({"integration_id": made["integration_id"], "wait": true, "prompt": "hi"});
    let (status, done) = post(&caller, ROUTE, &body).await;
    // THEN the stand-in was sent that key (it answers its SHA-256 prefix), and no answer holds the key
    assert_eq!((status, done["status"].as_str()), (200, Some("completed")), "{done}");
    let hash = shared::auth::apikey::hash(&key);
    let result = done["result"].as_str().unwrap();
    assert!(result.ends_with(&format!(" key {}", &hash[..12])), "{result}");
    assert!(!done.to_string().contains(&key));
    // AND another tenant may not name that secret, nor any outside its own prefix
    let stranger = operator(&fresh_tenant("completions-secret-other"));
    let (status, refused) = post(&stranger, "/api/v1/integrations", &integration).await;
    assert_eq!(
        (status, refused["error"]["details"]["field"].as_str()),
        (400, Some("model.credential.secret_arn")),
        "{refused}"
    );
    // AND a secret that cannot be read fails the completion, saying which
    let gone = arn.replace("standin", "missing");
    let integration = json!({"name": "no key", "model": {"provider": "standin", "provider_model": "standin",
        "credential": {"secret_arn": gone}}});
    let (_, made) = post(&caller, "/api/v1/integrations", &integration).await;
    let body = json!({"integration_id": made["integration_id"], "wait": true, "prompt": "hi"});
    let (_, failed) = post(&caller, ROUTE, &body).await;
    assert_eq!(
        (failed["status"].as_str(), failed["error"]["code"].as_str()),
        (Some("failed"), Some("PROVIDER_FAILED")),
        "{failed}"
    );
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("could not be read"),
        "{failed}"
    );
}
