use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use super::memory::InMemoryIntegrations;
use super::requests::{etag, if_match, spec};
use super::store::IntegrationStore;
use super::*;
use crate::auth::{AuthMethod, Principal, Role};
use crate::models::ModelCatalog;

fn principal(tenant: &str) -> Principal {
    Principal {
        tenant: tenant.try_into().unwrap(),
        subject: format!("k-{tenant}"),
        role: Role::Operator,
        method: AuthMethod::ApiKey,
    }
}

fn catalog() -> ModelCatalog {
    ModelCatalog::builtin().unwrap()
}

/// The `integrations-create` fixture's body.
fn support_bot() -> Value {
    let event: Value =
        serde_json::from_str(include_str!("../../../events/integrations-create/support-bot.json")).unwrap();
    serde_json::from_str(event["body"].as_str().unwrap()).unwrap()
}

fn refused(body: &Value) -> (String, String) {
    match spec(body, &catalog()) {
        Err(IntegrationError::Invalid { field, message }) => (field, message),
        other => panic!("not refused as invalid: {other:?}"),
    }
}

fn raw(body: &Value) -> String {
    match spec(body, &catalog()) {
        Err(e @ IntegrationError::RawCredential { .. }) => {
            let IntegrationError::RawCredential { field } = &e else {
                unreachable!()
            };
            field.clone()
        }
        other => panic!("not refused as a raw credential: {other:?}"),
    }
}

/// A task store with no tasks.
fn no_tasks() -> crate::conversation::memory::InMemory {
    crate::conversation::memory::InMemory::default()
}

fn now() -> chrono::DateTime<Utc> {
    Utc.timestamp_millis_opt(1_796_000_000_000).unwrap()
}

#[test]
fn the_fixture_is_accepted_with_its_reference_and_parameters() {
    let s = spec(&support_bot(), &catalog()).unwrap();
    assert_eq!(s.model.provider, "openai");
    assert_eq!(s.model.credential, Some(CredentialRef::Env("OPENAI_API_KEY".into())));
    assert_eq!(s.model.parameters.temperature, Some(0.2));
    assert_eq!(s.tools, ["search_docs"], "a repeated name counts once");
    let shown = serde_json::to_value(&s).unwrap();
    assert_eq!(shown["model"]["credential"], json!({"env": "OPENAI_API_KEY"}));
}

#[test]
fn a_credentials_value_is_refused_wherever_it_is_and_never_repeated() {
    let secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";
    let cases = [
        (json!({"api_key": secret}), "api_key"),
        (
            json!({"model": {"provider": "openai", "apiKey": secret}}),
            "model.apiKey",
        ),
        (json!({"model": {"credential": secret}}), "model.credential"),
        (
            json!({"model": {"credential": {"token": "abc"}}}),
            "model.credential.token",
        ),
        (json!({"name": "x", "tools": [secret]}), "tools[0]"),
        (json!({"description": "AKIAABCDEFGHIJKLMNOP"}), "description"),
        (
            json!({"model": {"parameters": {"Password": "hunter2"}}}),
            "model.parameters.Password",
        ),
        (json!({"model": {"credential": {secret: true}}}), "model.credential"),
        (
            json!({"description": format!("our key: {secret}, do not share")}),
            "description",
        ),
    ];
    for (body, field) in cases {
        assert_eq!(raw(&body), field, "{body}");
        let message = spec(&body, &catalog()).unwrap_err().to_string();
        assert!(!message.contains(secret) && !message.contains("hunter2"), "{message}");
    }
}

#[test]
fn each_wrong_field_is_named_without_its_value() {
    let with = |path: &[&str], value: Value| {
        let mut body = support_bot();
        let mut at = &mut body;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = value;
        body
    };
    let cases = [
        (with(&["name"], json!("")), "name"),
        (with(&["name"], json!("x".repeat(129))), "name"),
        (with(&["colour"], json!("red")), "colour"),
        (with(&["model", "provider"], json!("openia")), "model.provider"),
        (with(&["model", "provider_model"], json!(7)), "model.provider_model"),
        (
            with(&["model", "parameters", "temperature"], json!(2.5)),
            "model.parameters.temperature",
        ),
        (
            with(&["model", "parameters", "max_tokens"], json!(0)),
            "model.parameters.max_tokens",
        ),
        (
            with(&["model", "parameters", "top_p"], json!("high")),
            "model.parameters.top_p",
        ),
        (
            with(&["model", "parameters", "seed"], json!(1)),
            "model.parameters.seed",
        ),
        (
            with(&["model", "parameters", "stop"], json!(["a", "b", "c", "d", "e"])),
            "model.parameters.stop",
        ),
        (
            with(&["model", "credential"], json!({"env": "HOME"})),
            "model.credential.env",
        ),
        (
            with(
                &["model", "credential"],
                json!({"env": "OPENAI_API_KEY", "secret_arn": "x"}),
            ),
            "model.credential",
        ),
        (
            with(
                &["model", "credential"],
                json!({"secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:other/key"}),
            ),
            "model.credential.secret_arn",
        ),
        (with(&["tools"], json!(["has space"])), "tools[0]"),
        (with(&["resources"], json!("docs://a")), "resources"),
        (
            with(
                &["prompts"],
                json!((0..65).map(|i| format!("p{i}")).collect::<Vec<_>>()),
            ),
            "prompts",
        ),
    ];
    for (body, field) in cases {
        let (got, message) = refused(&body);
        assert_eq!(got, field, "{body}: {message}");
        assert!(!message.contains("openia") && !message.contains("HOME"), "{message}");
    }
}

#[test]
fn a_secret_under_the_stacks_prefix_is_a_reference_and_keyless_providers_take_none() {
    let mut body = support_bot();
    let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mcpflow/openai-AbCdEf";
    body["model"]["credential"] = json!({ "secret_arn": arn });
    assert_eq!(
        spec(&body, &catalog()).unwrap().model.credential,
        Some(CredentialRef::SecretArn(arn.into()))
    );
    for provider in ["local", "bedrock"] {
        body["model"]["provider"] = json!(provider);
        assert_eq!(refused(&body).0, "model.credential", "{provider}");
        body["model"]["credential"] = Value::Null;
        assert!(spec(&body, &catalog()).unwrap().model.credential.is_none());
        body["model"]["credential"] = json!({ "secret_arn": arn });
    }
}

#[test]
fn if_match_takes_a_star_or_one_strong_tag() {
    assert_eq!(if_match("*").unwrap(), Precondition::Any);
    assert_eq!(if_match(&etag(3)).unwrap(), Precondition::Version(3));
    for bad in ["3", "W/\"3\"", "\"0\"", "\"1\", \"2\"", "\"x\""] {
        assert!(if_match(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn create_get_replace_delete_move_the_version_and_stay_in_the_tenant() {
    let store = InMemoryIntegrations::default();
    let (acme, other) = (principal("acme"), principal("other"));
    let made = service::create(&store, &catalog(), &acme, &support_bot(), now())
        .await
        .unwrap();
    assert_eq!((made.version, made.tenant.as_str()), (1, "acme"));
    assert!(crate::ids::IdKind::Integration.matches(&made.integration_id));
    let id = made.integration_id.clone();
    assert!(matches!(
        service::get(&store, &other, &id).await,
        Err(IntegrationError::NotFound(_))
    ));

    // Sent back as GET shows it, with a changed name: the read-only fields are dropped.
    let mut doc = serde_json::to_value(&made).unwrap();
    doc["name"] = json!("Support bot 2");
    let later = now() + chrono::Duration::seconds(5);
    let replaced = service::replace(&store, &catalog(), &acme, &id, &doc, Precondition::None, later)
        .await
        .unwrap();
    assert_eq!((replaced.version, replaced.spec.name.as_str()), (2, "Support bot 2"));
    assert_eq!(replaced.created_at, made.created_at);
    assert_ne!(replaced.updated_at, made.updated_at);

    // The same stale document again: 412, nothing written.
    let stale = service::replace(&store, &catalog(), &acme, &id, &doc, Precondition::None, later).await;
    assert!(matches!(
        stale,
        Err(IntegrationError::VersionMismatch {
            current: 2,
            expected: 1,
            ..
        })
    ));
    // `If-Match: *` does not override the body's stale version.
    let starred = service::replace(&store, &catalog(), &acme, &id, &doc, Precondition::Any, later).await;
    assert!(matches!(
        starred,
        Err(IntegrationError::VersionMismatch { current: 2, .. })
    ));
    doc.as_object_mut().unwrap().remove("version");
    let bare = service::replace(&store, &catalog(), &acme, &id, &doc, Precondition::None, later).await;
    assert!(matches!(bare, Err(IntegrationError::PreconditionRequired)));
    let other_tenant = service::replace(&store, &catalog(), &other, &id, &doc, Precondition::Any, later).await;
    assert!(matches!(other_tenant, Err(IntegrationError::NotFound(_))));

    assert!(matches!(
        service::delete(&store, &no_tasks(), &acme, &id, Precondition::Version(1), now()).await,
        Err(IntegrationError::VersionMismatch { .. })
    ));
    assert!(matches!(
        service::delete(&store, &no_tasks(), &other, &id, Precondition::None, now()).await,
        Err(IntegrationError::NotFound(_))
    ));
    service::delete(&store, &no_tasks(), &acme, &id, Precondition::Version(2), now())
        .await
        .unwrap();
    assert!(store.get("acme", &id).await.unwrap().is_none());
}

#[tokio::test]
async fn listings_page_newest_first_and_the_limit_holds() {
    let store = InMemoryIntegrations::default();
    let acme = principal("acme");
    let mut ids = Vec::new();
    for i in 0..MAX_INTEGRATIONS_PER_TENANT {
        let at = now() + chrono::Duration::milliseconds(i64::try_from(i).unwrap());
        ids.push(
            service::create(&store, &catalog(), &acme, &support_bot(), at)
                .await
                .unwrap()
                .integration_id,
        );
    }
    let full = service::create(&store, &catalog(), &acme, &support_bot(), now()).await;
    assert!(matches!(full, Err(IntegrationError::LimitReached)));
    let first = service::list(&store, &acme, 60, None).await.unwrap();
    assert_eq!(first.integrations[0].integration_id, ids[99]);
    let cursor = first.next_cursor.unwrap();
    let second = service::list(&store, &acme, 60, Some(&cursor)).await.unwrap();
    assert_eq!((second.integrations.len(), second.next_cursor), (40, None));
    assert_eq!(second.integrations[39].integration_id, ids[0]);
    assert!(service::list(&store, &principal("other"), 10, None)
        .await
        .unwrap()
        .integrations
        .is_empty());
}

#[tokio::test]
async fn an_integration_a_completion_still_uses_is_not_deleted_until_it_ends() {
    use crate::conversation::service::tests::budget;
    type Deps = crate::conversation::service::Deps<
        crate::conversation::memory::InMemory,
        crate::conversation::memory::InMemory,
        crate::conversation::memory::InMemory,
    >;
    let d = Deps::in_memory().unwrap();
    let store = InMemoryIntegrations::default();
    let acme = principal("acme");
    let body = json!({"name": "i", "model": {"provider": "local", "provider_model": "echo"}});
    let made = service::create(&store, &catalog(), &acme, &body, now()).await.unwrap();
    let id = made.integration_id.clone();
    let ask = crate::completions::parse(&json!({"prompt": "hi", "integration_id": id}), 1_000).unwrap();
    let completion = d.create_completion(&acme, ask, Some(&made), now()).await.unwrap();
    // WHEN it is deleted while the completion is pending
    let refused = service::delete(&store, &d.tasks, &acme, &id, Precondition::None, now()).await;
    // THEN 409 naming the completion, and it is still there
    assert!(
        matches!(&refused, Err(IntegrationError::InUse { completion_id, .. }) if *completion_id == completion.task_id),
        "{refused:?}"
    );
    assert!(store.get("acme", &id).await.unwrap().is_some());
    // AND once the completion has finished, it is deleted
    let (_, message) = d.queue.queued.lock().unwrap()[0].clone();
    d.process(&message, Utc::now(), budget()).await.unwrap();
    service::delete(&store, &d.tasks, &acme, &id, Precondition::None, Utc::now())
        .await
        .unwrap();
}

#[test]
fn a_tenant_owns_only_the_secrets_under_its_own_prefix() {
    let arn = |name: &str| format!("arn:aws:secretsmanager:eu-west-1:123456789012:secret:{name}");
    assert!(super::owns_secret("acme", &arn("mcpflow/tenants/acme/openai-AbCdEf")));
    for other in [
        "mcpflow/tenants/acme-corp/openai",
        "mcpflow/tenants/acme/",
        "mcpflow/tenants/other/openai",
        "mcpflow/jwt",
        "mcpflow/openai",
    ] {
        assert!(!super::owns_secret("acme", &arn(other)), "{other}");
    }
}

#[test]
fn an_anthropic_temperature_is_0_to_1() {
    let mut body = support_bot();
    body["model"] = json!({"provider": "anthropic", "provider_model": "claude-sonnet-4-5",
        "parameters": {"temperature": 1.5}});
    assert_eq!(refused(&body).0, "model.parameters.temperature");
    body["model"]["parameters"]["temperature"] = json!(0.7);
    assert!(spec(&body, &catalog()).is_ok());
}
