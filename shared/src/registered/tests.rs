//! The registry's operations against the in-memory store: registration checks, the per-tenant
//! limit, and how a tool call fails.

use std::time::Duration;

use serde_json::{json, Value};

use super::endpoint::EndpointPolicy;
use super::memory::InMemoryRegistry;
use super::store::RegistryStore;
use super::{service, Kind, RegistryError, MAX_PER_KIND};
use crate::auth::{AuthMethod, Principal, Role};
use crate::providers::replay::{serve, Answer};

fn operator(tenant: &str) -> Principal {
    Principal {
        tenant: crate::tenant::TenantId::try_from(tenant).unwrap(),
        subject: "s".into(),
        role: Role::Operator,
        method: AuthMethod::ApiKey,
    }
}

fn local() -> EndpointPolicy {
    EndpointPolicy {
        timeout: Duration::from_secs(2),
        allow_private: true,
    }
}

fn tool(name: &str, endpoint: &str) -> Value {
    json!({"name": name, "description": "d", "endpoint": endpoint,
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}})
}

async fn register(store: &InMemoryRegistry, who: &Principal, kind: Kind, body: &Value) -> Result<Value, RegistryError> {
    service::register(store, who, service::Checked::of(kind, body, local())?).await
}

#[tokio::test]
async fn a_tenant_registers_100_of_each_kind_and_a_deletion_frees_a_slot() {
    // GIVEN a tenant with the most tools it may have
    let (store, acme) = (InMemoryRegistry::default(), operator("acme"));
    for i in 0..MAX_PER_KIND {
        register(&store, &acme, Kind::Tool, &tool(&format!("t{i}"), "https://e.com"))
            .await
            .unwrap();
    }
    // WHEN it registers one more
    let err = register(&store, &acme, Kind::Tool, &tool("extra", "https://e.com"))
        .await
        .unwrap_err();
    // THEN the limit is reached, but a taken name is still "already registered"
    assert!(matches!(err, RegistryError::LimitReached), "{err}");
    let err = register(&store, &acme, Kind::Tool, &tool("t0", "https://e.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Exists { .. }), "{err}");
    // AND other kinds and other tenants are counted apart
    let prompt = json!({"name": "greet", "template": "Hi"});
    register(&store, &acme, Kind::Prompt, &prompt).await.unwrap();
    register(&store, &operator("globex"), Kind::Tool, &tool("extra", "https://e.com"))
        .await
        .unwrap();
    // AND a deletion frees a slot
    service::delete(&store, &acme, Kind::Tool, "t7").await.unwrap();
    register(&store, &acme, Kind::Tool, &tool("extra", "https://e.com"))
        .await
        .unwrap();
    assert_eq!(store.list("acme", Kind::Tool).await.unwrap().len(), MAX_PER_KIND);
}

#[tokio::test]
async fn a_taken_name_is_already_registered_and_an_unknown_one_is_not_found() {
    let (store, acme) = (InMemoryRegistry::default(), operator("acme"));
    register(&store, &acme, Kind::Tool, &tool("weather", "https://e.com"))
        .await
        .unwrap();
    let err = register(&store, &acme, Kind::Tool, &tool("weather", "https://f.com"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::Exists { ref key, .. } if key == "weather"),
        "{err}"
    );
    let err = service::delete(&store, &acme, Kind::Tool, "nope").await.unwrap_err();
    assert!(
        matches!(err, RegistryError::NotFound { ref key, .. } if key == "nope"),
        "{err}"
    );
    let err = service::get(&store, &operator("globex"), Kind::Tool, "weather")
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::NotFound { .. }),
        "another tenant's tool: {err}"
    );
}

#[tokio::test]
async fn a_schema_that_does_not_compile_is_refused_at_registration_naming_input_schema() {
    let (store, acme) = (InMemoryRegistry::default(), operator("acme"));
    let schemas = [
        json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}),
        json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "(unclosed"}}}),
        json!({"type": "object", "properties": {"a": {"$ref": "https://schemas.example/a.json"}}}),
        json!({"type": "object", "required": "city"}),
    ];
    for schema in schemas {
        let body = json!({"name": "w", "description": "d", "endpoint": "https://e.com", "input_schema": schema});
        let err = register(&store, &acme, Kind::Tool, &body).await.unwrap_err();
        assert!(
            matches!(err, RegistryError::Invalid { ref field, .. } if field == "input_schema"),
            "{schema}: {err}"
        );
    }
    assert!(
        store.list("acme", Kind::Tool).await.unwrap().is_empty(),
        "nothing is stored"
    );
}

#[tokio::test]
async fn a_stored_schema_that_does_not_compile_refuses_the_call_without_calling_the_endpoint() {
    // GIVEN a tool stored before schemas were compiled at registration
    let (store, acme) = (InMemoryRegistry::default(), operator("acme"));
    let (base, received) = serve(vec![Answer::json(200, &json!({}))]).await;
    let mut doc = tool("old", &base);
    doc["input_schema"] = json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}});
    store.put("acme", Kind::Tool, "old", &doc).await.unwrap();
    // WHEN it is called
    let err = service::execute(&store, &acme, "old", &json!({"a": 1}), local(), None)
        .await
        .unwrap_err();
    // THEN the call is refused naming the schema, and the endpoint never hears of it
    assert!(
        matches!(err, RegistryError::Invalid { ref field, .. } if field == "input_schema"),
        "{err}"
    );
    assert!(received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn arguments_that_break_the_schema_are_refused_before_the_endpoint_is_called() {
    let (store, acme) = (InMemoryRegistry::default(), operator("acme"));
    let (base, received) = serve(vec![Answer::json(200, &json!({"ok": true}))]).await;
    register(&store, &acme, Kind::Tool, &tool("weather", &base))
        .await
        .unwrap();
    let err = service::execute(&store, &acme, "weather", &json!({"town": 1}), local(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::Invalid { ref field, .. } if field == "arguments"),
        "{err}"
    );
    assert!(received.lock().unwrap().is_empty());
    let out = service::execute(&store, &acme, "weather", &json!({"city": "Oslo"}), local(), None).await;
    assert_eq!(out.unwrap().value, json!({"ok": true}));
}

#[tokio::test]
async fn an_endpoint_that_fails_in_any_way_is_an_endpoint_failure_not_a_bad_request() {
    // GIVEN tools whose endpoints redirect, fail, are unreachable, or are blocked addresses
    let (store, acme) = (InMemoryRegistry::default(), operator("acme"));
    let mut redirect = Answer::json(301, &json!({}));
    redirect.headers.push(("location", "https://elsewhere.example/"));
    let (base, _) = serve(vec![redirect, Answer::json(503, &json!({"down": true}))]).await;
    register(&store, &acme, Kind::Tool, &tool("moved", &base))
        .await
        .unwrap();
    register(&store, &acme, Kind::Tool, &tool("unreachable", "http://127.0.0.1:9/x"))
        .await
        .unwrap();
    register(
        &store,
        &acme,
        Kind::Tool,
        &tool("metadata", "https://169.254.169.254/x"),
    )
    .await
    .unwrap();
    let strict = EndpointPolicy {
        allow_private: false,
        ..local()
    };
    let args = json!({"city": "Oslo"});
    // WHEN each is called, THEN each is an endpoint failure saying what happened
    let calls = [
        ("moved", local(), "redirects are not followed"),
        ("moved", local(), "503"),
        ("unreachable", local(), "could not be reached"),
        ("metadata", strict, "special-purpose"),
    ];
    for (name, policy, says) in calls {
        match service::execute(&store, &acme, name, &args, policy, None).await {
            Err(RegistryError::EndpointFailed(message)) => assert!(message.contains(says), "{name}: {message}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

fn ndjson(chunks: &[&str]) -> Answer {
    Answer {
        status: 200,
        headers: vec![("content-type", "application/x-ndjson")],
        chunks: chunks.iter().map(|c| c.as_bytes().to_vec()).collect(),
    }
}

#[tokio::test]
async fn an_mcp_tool_streams_its_notifications_before_its_answer_and_a_json_tool_does_not() {
    // GIVEN an `mcp` tool whose endpoint answers NDJSON split mid-line, and a `json` tool answering the same
    let (store, acme) = (InMemoryRegistry::default(), operator("acme"));
    let lines = [
        "{\"method\": \"notifications/progress\", \"params\": {\"progress\": 0, \"total\": 100}}\n{\"meth",
        "od\": \"notifications/message\", \"params\": {\"level\": \"info\", \"data\": \"half\"}}\n",
        "\n{\"content\": [{\"type\": \"text\", \"text\": \"done\"}]}",
    ];
    let (base, _) = serve(vec![
        ndjson(&lines),
        ndjson(&lines),
        ndjson(&["{\"a\": 1}\n{\"b\": 2}"]),
    ])
    .await;
    let mut body = tool("streams", &base);
    body["answer_format"] = json!("mcp");
    register(&store, &acme, Kind::Tool, &body).await.unwrap();
    let args = json!({"city": "Oslo"});
    // WHEN it is called with somewhere for notifications
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let out = service::execute(&store, &acme, "streams", &args, local(), Some(tx))
        .await
        .unwrap();
    // THEN each notification arrives in order, and the last line is the answer
    assert!(out.mcp);
    assert_eq!(out.value, json!({"content": [{"type": "text", "text": "done"}]}));
    assert_eq!(rx.recv().await.unwrap()["params"]["progress"], 0);
    assert_eq!(rx.recv().await.unwrap()["params"]["data"], "half");
    assert!(rx.recv().await.is_none());
    // AND without a listener the answer is the same
    let quiet = service::execute(&store, &acme, "streams", &args, local(), None)
        .await
        .unwrap();
    assert_eq!(quiet.value, out.value);
    // AND two answer lines are an endpoint failure
    let two = service::execute(&store, &acme, "streams", &args, local(), None).await;
    assert!(
        matches!(two, Err(RegistryError::EndpointFailed(ref m)) if m.contains("more than one answer")),
        "{two:?}"
    );
}
