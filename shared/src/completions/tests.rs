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
    let with_tools = parse(&json!({"prompt": "hi", "tools": ["search", "get-weather"]}), 1_000).unwrap();
    assert_eq!(with_tools.tools, ["search", "get-weather"]);
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
        (json!({"prompt": "a", "tools": "search"}), "tools"),
        (json!({"prompt": "a", "tools": []}), "tools"),
        (
            json!({"prompt": "a", "tools": (0..9).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
            "tools",
        ),
        (json!({"prompt": "a", "tools": ["a b"]}), "tools[0]"),
        (json!({"prompt": "a", "tools": ["search", "search"]}), "tools[1]"),
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

/// The tenant's tools in a test: `weather` answers for its city, `broken` fails; nothing else is registered.
struct TestTools;

impl tools::ToolSpecs for TestTools {
    fn specs<'a>(
        &'a self,
        _: &'a str,
        names: &'a [String],
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Vec<crate::providers::ToolSpec>, tools::ToolsError>> + Send + 'a>,
    > {
        Box::pin(async move {
            names
                .iter()
                .map(|n| match n.as_str() {
                    "weather" | "broken" => Ok(crate::providers::ToolSpec {
                        name: n.clone(),
                        description: "d".into(),
                        input_schema: json!({"type": "object"}),
                    }),
                    other => Err(tools::ToolsError::NotRegistered(other.into())),
                })
                .collect()
        })
    }
}

impl tools::ToolBox for TestTools {
    fn run<'a>(
        &'a self,
        _: &'a str,
        call: &'a crate::providers::ToolCall,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = crate::providers::ToolOutput> + Send + 'a>> {
        Box::pin(async move {
            let (content, is_error) = match call.name.as_str() {
                "weather" => (
                    format!("sunny in {}", call.arguments["city"].as_str().unwrap_or("?")),
                    false,
                ),
                _ => ("the endpoint answered 500".to_owned(), true),
            };
            crate::providers::ToolOutput {
                call_id: call.id.clone(),
                content,
                is_error,
            }
        })
    }
}

/// An OpenAI-compatible answer calling `calls` (`(id, name, arguments)`), or saying `text`.
fn said(calls: &[(&str, &str, Value)], text: &str) -> crate::providers::replay::Answer {
    let calls: Vec<Value> = calls
        .iter()
        .map(|(id, name, args)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args.to_string()}}))
        .collect();
    let message = if calls.is_empty() {
        json!({"role": "assistant", "content": text})
    } else {
        json!({"role": "assistant", "content": null, "tool_calls": calls})
    };
    crate::providers::replay::Answer::json(
        200,
        &json!({"model": "m", "choices": [{"index": 0, "message": message}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 2}}),
    )
}

/// In-memory stores, the tools above, and a model `gpt` served by the replayed `answers`.
async fn with_tools(
    answers: Vec<crate::providers::replay::Answer>,
) -> (
    Deps<InMemory, InMemory, InMemory>,
    std::sync::Arc<std::sync::Mutex<Vec<crate::providers::replay::Received>>>,
) {
    let (base, received) = crate::providers::replay::serve(answers).await;
    let catalog = crate::models::ModelCatalog::parse(
        &json!({"default_model": "gpt",
            "providers": [{"id": "openai", "kind": "openai_compatible", "base_url": base, "description": "d"}],
            "models": [{"id": "gpt", "provider": "openai", "provider_model": "gpt-x", "fallback": []}]})
        .to_string(),
    )
    .unwrap();
    let mut d: Deps<InMemory, InMemory, InMemory> = Deps::in_memory().unwrap();
    d.providers = crate::providers::registry::Providers::new(
        &catalog,
        &std::collections::BTreeMap::new(),
        std::time::Duration::from_secs(5),
        None,
    )
    .unwrap();
    let test_tools = std::sync::Arc::new(TestTools);
    d.tool_specs = Some(test_tools.clone());
    d.tools = Some(test_tools);
    d.default_model = "gpt".into();
    (d, received)
}

async fn run_completion(d: &Deps<InMemory, InMemory, InMemory>, body: &Value) -> Task {
    let made = d
        .create_completion(&alice("acme"), parse(body, 1_000).unwrap(), None, Utc::now())
        .await
        .unwrap();
    let (_, message) = d.queue.queued.lock().unwrap().pop().unwrap();
    d.process(&message, Utc::now(), budget()).await.unwrap();
    d.task(&alice("acme"), &made.task_id, Utc::now()).await.unwrap()
}

#[tokio::test]
async fn the_models_tool_calls_are_run_answered_and_recorded_round_by_round() {
    // GIVEN a model that calls weather (and a tool it was not offered), then answers
    let (d, received) = with_tools(vec![
        said(
            &[("c1", "weather", json!({"city": "Paris"})), ("c2", "secret", json!({}))],
            "",
        ),
        said(&[("c3", "broken", json!({}))], ""),
        said(&[], "Sunny in Paris."),
    ])
    .await;
    // WHEN a completion offering weather and broken runs
    let done = run_completion(
        &d,
        &json!({"prompt": "Weather in Paris?", "tools": ["weather", "broken"]}),
    )
    .await;
    // THEN it completes with the last answer, the usage of all three calls, and both rounds kept
    assert_eq!(done.status, TaskStatus::Completed, "{:?}", done.error);
    assert_eq!(done.output.as_deref(), Some("Sunny in Paris."));
    assert_eq!(done.usage.unwrap().input_tokens, 30);
    let shown = view(&done);
    assert_eq!(shown["tools"], json!(["weather", "broken"]));
    let rounds = shown["tool_rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 2);
    let first = &rounds[0]["calls"];
    assert_eq!(
        (&first[0]["name"], &first[0]["result"], &first[0]["is_error"]),
        (&json!("weather"), &json!("sunny in Paris"), &json!(false))
    );
    assert_eq!(first[0]["arguments"], json!({"city": "Paris"}));
    assert_eq!(
        (&first[1]["result"], &first[1]["is_error"]),
        (&json!("no tool secret was offered"), &json!(true))
    );
    assert_eq!(rounds[1]["calls"][0]["is_error"], true);
    // AND the model was offered both tools and handed each answer back
    let sent = received.lock().unwrap();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].body["tools"].as_array().unwrap().len(), 2);
    let last = sent[2].body["messages"].as_array().unwrap();
    let tool_answers: Vec<&str> = last
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        tool_answers,
        [
            "sunny in Paris",
            "no tool secret was offered",
            "the endpoint answered 500"
        ]
    );
}

#[tokio::test]
async fn a_model_that_keeps_calling_tools_fails_after_the_last_round_with_its_rounds_kept() {
    let again = || said(&[("c", "weather", json!({"city": "Oslo"}))], "");
    let (d, received) = with_tools((0..=tools::MAX_TOOL_ROUNDS).map(|_| again()).collect()).await;
    let done = run_completion(&d, &json!({"prompt": "Loop", "tools": ["weather"]})).await;
    assert_eq!(done.status, TaskStatus::Failed);
    assert_eq!(done.error_code.as_deref(), Some("TOOL_ROUNDS_EXCEEDED"));
    assert_eq!(done.tool_rounds.len(), tools::MAX_TOOL_ROUNDS);
    assert_eq!(received.lock().unwrap().len(), tools::MAX_TOOL_ROUNDS + 1);
}

#[tokio::test]
async fn a_completion_offering_a_tool_that_is_not_registered_is_refused_naming_it() {
    let (d, _) = with_tools(Vec::new()).await;
    let asked = parse(&json!({"prompt": "hi", "tools": ["weather", "nope"]}), 1_000).unwrap();
    match d.create_completion(&alice("acme"), asked, None, Utc::now()).await {
        Err(ConversationError::Invalid(i)) => assert_eq!(i.field, "tools[1]"),
        other => panic!("not refused: {other:?}"),
    }
}

#[tokio::test]
async fn calls_past_eight_a_round_are_answered_not_run_and_only_counted() {
    let many: Vec<(String, Value)> = (0..10)
        .map(|i| (format!("c{i}"), json!({"city": format!("C{i}")})))
        .collect();
    let calls: Vec<(&str, &str, Value)> = many.iter().map(|(id, a)| (id.as_str(), "weather", a.clone())).collect();
    let (d, received) = with_tools(vec![said(&calls, ""), said(&[], "Done.")]).await;
    let done = run_completion(&d, &json!({"prompt": "All cities", "tools": ["weather"]})).await;
    assert_eq!(done.status, TaskStatus::Completed, "{:?}", done.error);
    let round = &done.tool_rounds[0];
    assert_eq!((round.calls.len(), round.not_run), (tools::MAX_CALLS_PER_ROUND, 2));
    // Every call is answered to the model, the last two as not run
    let sent = received.lock().unwrap();
    let answers: Vec<&str> = sent[1].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(answers.len(), 10);
    assert!(answers[9].starts_with("not run"), "{answers:?}");
}

#[tokio::test]
async fn calls_without_usable_ids_are_given_ours_and_schemas_without_a_type_are_objects() {
    let calls = [
        ("", "weather", json!({"city": "A"})),
        ("dup", "weather", json!({"city": "B"})),
        ("dup", "weather", json!({"city": "C"})),
    ];
    let (d, received) = with_tools(vec![said(&calls, ""), said(&[], "Done.")]).await;
    let done = run_completion(&d, &json!({"prompt": "Three", "tools": ["weather"]})).await;
    let ids: Vec<&str> = done.tool_rounds[0].calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["call_1_0", "dup", "call_1_2"]);
    let sent = received.lock().unwrap();
    let answered: Vec<&str> = sent[1].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["tool_call_id"].as_str().unwrap())
        .collect();
    assert_eq!(answered, ids);
}

#[tokio::test]
async fn a_registered_schema_without_a_type_is_offered_as_an_object() {
    let store = crate::registered::memory::InMemoryRegistry::default();
    let doc = json!({"name": "any", "description": "d", "endpoint": "https://x.example", "input_schema": {}});
    crate::registered::store::RegistryStore::put(&store, "acme", crate::registered::Kind::Tool, "any", &doc)
        .await
        .unwrap();
    let toolbox = tools::RegistryTools {
        store,
        policy: crate::registered::endpoint::EndpointPolicy {
            timeout: std::time::Duration::from_secs(1),
            allow_private: false,
        },
    };
    let specs = tools::ToolSpecs::specs(&toolbox, "acme", &["any".to_owned()])
        .await
        .unwrap();
    assert_eq!(specs[0].input_schema, json!({"type": "object"}));
    let missing = tools::ToolSpecs::specs(&toolbox, "other", &["any".to_owned()]).await;
    assert!(matches!(missing, Err(tools::ToolsError::NotRegistered(n)) if n == "any"));
}
