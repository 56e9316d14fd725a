//! Chains and completion through the configured providers.

use serde_json::json;

use super::*;
use crate::providers::replay::{serve, Answer};
use crate::providers::{Message, Role};

fn catalog(openai_base: &str) -> ModelCatalog {
    ModelCatalog::parse(
        &json!({
            "default_model": "local-echo",
            "providers": [
                {"id": "openai", "kind": "openai_compatible", "base_url": openai_base, "credential_env": "OPENAI_API_KEY", "description": "d"},
                {"id": "anthropic", "kind": "anthropic", "base_url": "http://127.0.0.1:1", "credential_env": "ANTHROPIC_API_KEY", "description": "d"},
                {"id": "local", "kind": "local", "description": "d"}
            ],
            "models": [
                {"id": "gpt", "provider": "openai", "provider_model": "gpt-4o-mini", "fallback": ["claude", "local-echo"]},
                {"id": "claude", "provider": "anthropic", "provider_model": "claude-x", "fallback": ["gpt"]},
                {"id": "local-echo", "provider": "local", "provider_model": "echo", "fallback": []}
            ]
        })
        .to_string(),
    )
    .unwrap()
}

fn user(text: &str) -> Vec<Message> {
    vec![Message {
        role: Role::User,
        content: text.into(),
    }]
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

#[test]
fn a_chain_follows_fallbacks_once_each_and_an_unknown_model_lists_the_available_ones() {
    let providers = Providers::new(&catalog("http://x"), &BTreeMap::new(), Duration::from_secs(1), None).unwrap();
    let ids: Vec<String> = providers.chain("gpt").unwrap().into_iter().map(|(m, _, _)| m).collect();
    assert_eq!(ids, ["gpt", "claude", "local-echo"]);
    let err = providers.chain("gpt-5").unwrap_err();
    assert_eq!(err.to_string(), "unknown model gpt-5; available: local-echo");
}

#[tokio::test]
async fn a_failing_provider_falls_back_and_the_answer_says_who_gave_it() {
    let (base, _) = serve(vec![Answer::json(500, &json!({})), Answer::json(503, &json!({}))]).await;
    let creds = BTreeMap::from([("openai".to_owned(), Secret::new("sk".into()))]);
    let providers = Providers::new(&catalog(&base), &creds, Duration::from_secs(2), None).unwrap();
    let out = providers
        .complete("gpt", user("hello there"), 64, quick())
        .await
        .unwrap();
    assert_eq!(out.provider, "local");
}

#[tokio::test]
async fn when_every_provider_fails_the_error_names_each_and_why() {
    let catalog = ModelCatalog::parse(
        &json!({"default_model": "gpt",
            "providers": [{"id": "openai", "kind": "openai_compatible", "base_url": "http://127.0.0.1:1", "credential_env": "OPENAI_API_KEY", "description": "d"},
                          {"id": "anthropic", "kind": "anthropic", "credential_env": "ANTHROPIC_API_KEY", "description": "d"}],
            "models": [{"id": "gpt", "provider": "openai", "provider_model": "gpt-4o-mini", "fallback": ["claude"]},
                       {"id": "claude", "provider": "anthropic", "provider_model": "claude-x", "fallback": []}]})
        .to_string(),
    )
    .unwrap();
    let creds = BTreeMap::from([("openai".to_owned(), Secret::new("sk".into()))]);
    let providers = Providers::new(&catalog, &creds, Duration::from_secs(2), None).unwrap();
    let err = providers
        .complete("gpt", user("hi"), 64, quick())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("all providers failed: openai (gpt-4o-mini) after 2 attempt(s): could not connect"),
        "{err}"
    );
    assert!(
        err.ends_with("anthropic (claude-x) after 0 attempt(s): not configured (no credential)"),
        "{err}"
    );
}

#[tokio::test]
async fn a_stream_sends_its_pieces_numbered_by_the_attempt_that_gave_the_answer() {
    // GIVEN openai failing twice, then the chain's local fallback
    let (base, _) = serve(vec![Answer::json(500, &json!({})), Answer::json(503, &json!({}))]).await;
    let creds = BTreeMap::from([("openai".to_owned(), Secret::new("sk".into()))]);
    let providers = Providers::new(&catalog(&base), &creds, Duration::from_secs(2), None).unwrap();
    let (to, mut pieces) = tokio::sync::mpsc::unbounded_channel();
    // WHEN the completion is streamed
    let out = providers
        .stream("gpt", user("stream me"), 64, quick(), to)
        .await
        .unwrap();
    // THEN every piece is the third attempt's, and together they are the answer
    let mut text = String::new();
    while let Ok(piece) = pieces.try_recv() {
        assert_eq!(piece.attempt, 3);
        text.push_str(&piece.text);
    }
    assert_eq!((out.provider.as_str(), text.as_str()), ("local", out.text.as_str()));
}
