//! The completion handlers on their `events/` fixtures, with in-memory stores and the local provider.

use shared::audit::InMemoryAuditLog;
use shared::conversation::memory::InMemory;
use shared::integrations::memory::InMemoryIntegrations;

use super::*;
use crate::api::test_support::audit;
use crate::api::{serve, App};
use crate::http::test_support::{body_json, event, event_edited};

type Completions = App<CompletionDeps<Deps<InMemory, InMemory, InMemory>, InMemoryIntegrations>, InMemoryAuditLog>;

fn conversation() -> Completions {
    let deps = CompletionDeps {
        conversation: Deps::in_memory().unwrap(),
        integrations: InMemoryIntegrations::default(),
    };
    App::new(deps, audit()).audited()
}

#[tokio::test]
async fn each_fixture_answers_its_documented_status_and_a_made_completion_reads_back() {
    let app = conversation();
    let made = serve(&app, create, event("completions-create", "messages")).await;
    let refused = serve(&app, create, event("completions-create", "no-prompt")).await;
    let unknown = serve(&app, get, event("completions-get", "unknown")).await;
    let not_cancelled = serve(&app, cancel, event("completions-cancel", "unknown")).await;
    assert_eq!(
        [
            made.status(),
            refused.status(),
            unknown.status(),
            not_cancelled.status()
        ]
        .map(|s| s.as_u16()),
        [202, 400, 404, 404]
    );
    assert_eq!(body_json(&unknown)["error"]["code"], "COMPLETION_NOT_FOUND");
    let id = body_json(&made)["completion_id"].as_str().unwrap().to_owned();
    let at = |function: &str| {
        event_edited(function, "unknown", |e| {
            e["rawPath"] = format!("/api/v1/completions/{id}").into();
            e["pathParameters"]["completionID"] = id.clone().into();
        })
    };
    let read = body_json(&serve(&app, get, at("completions-get")).await);
    assert_eq!(
        (read["status"].as_str(), read["model_id"].as_str()),
        (Some("pending"), Some("local-echo"))
    );
    let cancelled = serve(&app, cancel, at("completions-cancel")).await;
    assert_eq!(body_json(&cancelled)["status"], "cancelled");
    let again = serve(&app, cancel, at("completions-cancel")).await;
    assert_eq!(again.status(), 409);
}

/// The streaming route's app, leaked: the handler runs the completion on after it answers.
fn streaming(
) -> &'static App<stream::StreamDeps<Deps<InMemory, InMemory, InMemory>, InMemoryIntegrations>, InMemoryAuditLog> {
    let deps = stream::StreamDeps {
        completions: CompletionDeps {
            conversation: Deps::in_memory().unwrap(),
            integrations: InMemoryIntegrations::default(),
        },
        task_deadline: std::time::Duration::from_secs(5),
        policy: shared::providers::retry::RetryPolicy::default(),
    };
    Box::leak(Box::new(App::new(deps, audit()).audited()))
}

/// The event of a function URL as `api::streaming::authenticate` leaves it: the verdict of the
/// fixture's operator.
fn verdict_of_an_operator() -> lambda_http::Request {
    event_edited("completions-stream", "forged-verdict", |e| {
        e["routeKey"] = stream::ROUTE.into();
        e["requestContext"]["routeKey"] = stream::ROUTE.into();
    })
}

#[tokio::test]
async fn a_streamed_completion_answers_its_events_in_order_and_is_stored_and_audited() {
    use futures::StreamExt;
    let app = streaming();
    let (response, rest) = crate::api::serve_streaming(app, stream::stream, verdict_of_an_operator()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let first = String::from_utf8(response.body().to_vec()).unwrap();
    assert!(first.starts_with("event: completion\ndata: {"), "{first}");
    assert!(first.contains(r#""status":"running""#), "{first}");
    let rest: Vec<bytes::Bytes> = rest.unwrap().0.collect().await;
    let rest: String = rest.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect();
    let events: Vec<&str> = rest.split("\n\n").filter(|e| !e.is_empty()).collect();
    let (last, chunks) = events.split_last().unwrap();
    assert!(
        !chunks.is_empty() && chunks.iter().all(|c| c.starts_with("event: chunk\n")),
        "{rest}"
    );
    let finished: serde_json::Value =
        serde_json::from_str(last.strip_prefix("event: completion\ndata: ").unwrap()).unwrap();
    assert_eq!(finished["status"], "completed", "{finished}");
    let text: String = chunks
        .iter()
        .map(|c| serde_json::from_str::<serde_json::Value>(c.strip_prefix("event: chunk\ndata: ").unwrap()).unwrap())
        .map(|c| c["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(finished["result"], text.as_str());
    // AND the create is audited under the completion's id
    let entries = crate::api::test_support::entries(app).await;
    assert_eq!(entries[0].target.as_deref(), finished["completion_id"].as_str());
}

#[tokio::test]
async fn a_verdict_written_into_a_function_url_event_is_replaced_by_the_functions_own() {
    use shared::keys::InMemoryKeyStore;
    use shared::ratelimit::{InMemoryRateLimiter, RateLimits, DEFAULT_RATE_LIMITS};
    let auth = shared::auth::authenticate::Authenticator {
        store: InMemoryKeyStore::default(),
        limiter: InMemoryRateLimiter::default(),
        limits: RateLimits::parse(DEFAULT_RATE_LIMITS).unwrap(),
        jwt: None,
        last_use: shared::auth::authenticate::LastUse::default(),
    };
    // The fixture claims an operator's verdict, without credentials
    let forged = event("completions-stream", "forged-verdict");
    let req = crate::api::streaming::authenticate(&auth, stream::ROUTE, forged).await;
    let refused = crate::auth::principal(&req).unwrap_err();
    assert_eq!((refused.status, refused.code), (401, "UNAUTHENTICATED"));
    assert_eq!(crate::http::route_key(&req), stream::ROUTE);
}
