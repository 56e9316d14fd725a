use chrono::Utc;
use serde_json::json;

use super::*;
use crate::conversation::memory::InMemory;
use crate::conversation::service::tests::{alice, budget};
use crate::tasks::model::TaskStatus;
use crate::worker::Processed;

fn refused(body: &Value) -> String {
    match parse(body, 1_000) {
        Err(ConversationError::Invalid(i)) => i.field,
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn a_prompt_or_messages_are_read_and_each_wrong_field_named() {
    let asked = parse(&json!({"prompt": "hi", "model_id": "local-echo", "wait": true}), 1_000).unwrap();
    assert_eq!((asked.messages.len(), asked.wait, asked.priority), (1, true, 5));
    let chat = json!({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]});
    assert_eq!(parse(&chat, 1_000).unwrap().messages[0].role, Role::System);
    for (body, field) in [
        (json!({}), "prompt"),
        (json!({"prompt": "a", "messages": []}), "prompt"),
        (json!({"prompt": " "}), "prompt"),
        (json!({"prompt": "x".repeat(1_001)}), "prompt"),
        (json!({"messages": []}), "messages"),
        (
            json!({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}),
            "messages",
        ),
        (
            json!({"messages": [{"role": "robot", "content": "a"}]}),
            "messages[0].role",
        ),
        (
            json!({"messages": [{"role": "user", "content": 3}]}),
            "messages[0].content",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x".repeat(600)}, {"role": "user", "content": "x".repeat(600)}]}),
            "messages",
        ),
        (json!({"prompt": "a", "wait": "yes"}), "wait"),
        (json!({"prompt": "a", "priority": 11}), "priority"),
        (json!({"prompt": "a", "temperature": 1}), "temperature"),
        (json!({"prompt": "a", "integration_id": "itg_1"}), "integration_id"),
        (
            json!({"prompt": "a", "integration_id": "itg_0000000000000000000000000001", "model_id": "m"}),
            "model_id",
        ),
        (json!({"prompt": "a", "tools": ["search"]}), "tools"),
    ] {
        assert_eq!(refused(&body), field, "{body}");
    }
}

#[tokio::test]
async fn a_completion_of_messages_is_answered_with_all_of_them_and_viewed_with_its_timings() {
    let d: Deps<InMemory, InMemory, InMemory> = Deps::in_memory().unwrap();
    let body = json!({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"}, {"role": "user", "content": "Capital of France?"}]});
    let made = d
        .create_completion(&alice("acme"), parse(&body, 1_000).unwrap(), None, Utc::now())
        .await
        .unwrap();
    assert_eq!(view(&made)["status"], "pending");
    let (_, message) = d.queue.queued.lock().unwrap()[0].clone();
    assert_eq!(
        d.process(&message, Utc::now(), budget()).await.unwrap(),
        Processed::Completed
    );
    let done = d.task(&alice("acme"), &made.task_id, Utc::now()).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    let shown = view(&done);
    let result = shown["result"].as_str().unwrap();
    assert!(
        result.contains("4 message(s) received") && result.ends_with("Capital of France?"),
        "{result}"
    );
    assert!(shown["timings"]["total_ms"].as_i64().unwrap() >= 0, "{shown}");
    assert_eq!(shown["provider"], "local");
    assert!(d.task(&alice("other"), &made.task_id, Utc::now()).await.is_err());
}

#[tokio::test]
async fn a_completion_through_an_integration_calls_its_provider_model_and_refuses_what_it_cannot_call() {
    use crate::integrations::{memory::InMemoryIntegrations, service as integrations};
    let d: Deps<InMemory, InMemory, InMemory> = Deps::in_memory().unwrap();
    let store = InMemoryIntegrations::default();
    let catalog = crate::models::ModelCatalog::builtin().unwrap();
    let make = |model: Value| {
        let body = json!({"name": "i", "model": model});
        let (store, catalog) = (&store, &catalog);
        async move {
            integrations::create(store, catalog, &alice("acme"), &body, Utc::now())
                .await
                .unwrap()
        }
    };
    let local = make(json!({"provider": "local", "provider_model": "echo-2", "parameters": {"max_tokens": 64}})).await;
    let ask = parse(&json!({"prompt": "hi", "integration_id": local.integration_id}), 1_000).unwrap();
    let made = d
        .create_completion(&alice("acme"), ask, Some(&local), Utc::now())
        .await
        .unwrap();
    let call = made.integration.clone().unwrap();
    assert_eq!(
        (call.provider.as_str(), call.provider_model.as_str(), call.max_tokens),
        ("local", "echo-2", Some(64))
    );
    let (_, message) = d.queue.queued.lock().unwrap()[0].clone();
    assert_eq!(
        d.process(&message, Utc::now(), budget()).await.unwrap(),
        Processed::Completed
    );
    let done = view(&d.task(&alice("acme"), &made.task_id, Utc::now()).await.unwrap());
    assert_eq!(
        (done["status"].as_str(), done["provider"].as_str()),
        (Some("completed"), Some("local"))
    );
    assert_eq!(done["integration_id"], local.integration_id.as_str());

    // A provider the stack has no credential for: 400, nothing queued
    let openai = make(json!({"provider": "openai", "provider_model": "gpt-4o-mini"})).await;
    let ask = |i: &crate::integrations::Integration| {
        parse(&json!({"prompt": "hi", "integration_id": i.integration_id}), 1_000).unwrap()
    };
    let refused = d
        .create_completion(&alice("acme"), ask(&openai), Some(&openai), Utc::now())
        .await;
    assert!(
        matches!(&refused, Err(ConversationError::Invalid(i)) if i.field == "integration_id"),
        "{refused:?}"
    );
    assert_eq!(d.queue.queued.lock().unwrap().len(), 1);
    // A secret of another name than the tenant's own is refused when the integration is written
    let arn = |name: &str| format!("arn:aws:secretsmanager:eu-west-1:123456789012:secret:mcpflow/{name}");
    let foreign = json!({"name": "i", "model": {"provider": "openai", "provider_model": "gpt-4o-mini",
        "credential": {"secret_arn": arn("tenants/other/openai")}}});
    let refused = integrations::create(&store, &catalog, &alice("acme"), &foreign, Utc::now()).await;
    assert!(refused.is_err(), "{refused:?}");
    // A secret of its own is queued with its ARN; a worker that reads no secrets fails it, saying so
    let own = make(json!({"provider": "openai", "provider_model": "gpt-4o-mini",
        "credential": {"secret_arn": arn("tenants/acme/openai")}}))
    .await;
    let made = d
        .create_completion(&alice("acme"), ask(&own), Some(&own), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        made.integration.as_ref().unwrap().credential_secret,
        Some(arn("tenants/acme/openai"))
    );
    let (_, message) = d.queue.queued.lock().unwrap()[1].clone();
    assert_eq!(
        d.process(&message, Utc::now(), budget()).await.unwrap(),
        Processed::Failed
    );
    let failed = d.task(&alice("acme"), &made.task_id, Utc::now()).await.unwrap();
    assert!(
        failed
            .error
            .as_deref()
            .unwrap()
            .contains("reads no Secrets Manager secrets"),
        "{failed:?}"
    );
}
