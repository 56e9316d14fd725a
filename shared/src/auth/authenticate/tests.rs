//! The authorizer's decision with an in-memory key store.

use super::*;
use crate::auth::Role;
use crate::keys::{ApiKeyRecord, InMemoryKeyStore};
use crate::ratelimit::{InMemoryRateLimiter, DEFAULT_RATE_LIMITS};

const NOW: &str = "2026-11-22T12:00:00Z";

async fn store_with(role: Role, revoked: bool) -> (Auth, String) {
    let new = apikey::generate().unwrap();
    let store = InMemoryKeyStore::default();
    let record = ApiKeyRecord {
        key_id: new.key_id.clone(),
        tenant: "acme".into(),
        role,
        name: "ci".into(),
        created_at: NOW.into(),
        last_used_at: None,
        revoked,
        hash: new.hash.clone(),
    };
    store.create(&record).await.unwrap();
    (authenticator(store, DEFAULT_RATE_LIMITS), new.key.expose().to_owned())
}

type Auth = Authenticator<InMemoryKeyStore, InMemoryRateLimiter>;

fn authenticator(store: InMemoryKeyStore, limits: &str) -> Auth {
    let limits = RateLimits::parse(limits).unwrap();
    Authenticator {
        store,
        limiter: InMemoryRateLimiter::default(),
        limits,
        jwt: None,
        last_use: LastUse::default(),
    }
}

fn now() -> DateTime<Utc> {
    NOW.parse().unwrap()
}

async fn decide(auth: &Auth, api_key: Option<&str>, authorization: Option<&str>, route: &str) -> AuthOutcome {
    auth.decide(Credentials { api_key, authorization }, route, now())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_valid_key_is_allowed_on_a_route_its_role_may_use_and_its_use_is_recorded() {
    let (store, key) = store_with(Role::Admin, false).await;
    let outcome = decide(&store, Some(&key), None, "GET /api/v1/keys").await;
    let AuthOutcome::Allowed(p) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        (p.tenant.as_str(), p.role, p.method),
        ("acme", Role::Admin, AuthMethod::ApiKey)
    );
    assert_eq!(
        store.store.list("acme").await.unwrap()[0].last_used_at.as_deref(),
        Some(NOW)
    );
}

#[tokio::test]
async fn a_key_used_again_within_a_minute_is_not_recorded_again_by_the_instance() {
    let (auth, key) = store_with(Role::Admin, false).await;
    let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap();
    let last_used = || async { auth.store.list("acme").await.unwrap()[0].last_used_at.clone() };
    for (t, recorded) in [
        (NOW, NOW),
        ("2026-11-22T12:00:59Z", NOW),
        ("2026-11-22T12:01:00Z", "2026-11-22T12:01:00Z"),
    ] {
        let outcome = auth
            .decide(
                Credentials {
                    api_key: Some(&key),
                    authorization: None,
                },
                "GET /api/v1/keys",
                at(t),
            )
            .await
            .unwrap();
        assert!(matches!(outcome, AuthOutcome::Allowed(_)), "{outcome:?}");
        assert_eq!(last_used().await.as_deref(), Some(recorded), "at {t}");
    }
}

#[tokio::test]
async fn a_valid_key_on_a_route_its_role_may_not_use_is_forbidden() {
    let (store, key) = store_with(Role::Viewer, false).await;
    assert!(matches!(
        decide(&store, Some(&key), None, "POST /api/v1/keys").await,
        AuthOutcome::Forbidden { .. }
    ));
}

#[tokio::test]
async fn revoked_unknown_malformed_and_oversized_keys_are_unauthenticated() {
    let (store, key) = store_with(Role::Admin, true).await;
    let unknown = apikey::generate().unwrap();
    let huge = "k".repeat(MAX_CREDENTIAL_BYTES + 1);
    for (presented, code) in [
        (key.as_str(), "INVALID_API_KEY"),
        (unknown.key.expose(), "INVALID_API_KEY"),
        ("not-a-key", "INVALID_API_KEY"),
        (huge.as_str(), "CREDENTIALS_TOO_LARGE"),
    ] {
        let outcome = decide(&store, Some(presented), None, "GET /api/v1/keys").await;
        assert!(
            matches!(outcome, AuthOutcome::Unauthenticated { code: c, .. } if c == code),
            "{outcome:?}"
        );
    }
}

#[tokio::test]
async fn no_credentials_or_a_non_bearer_authorization_is_unauthenticated() {
    let store = authenticator(InMemoryKeyStore::default(), DEFAULT_RATE_LIMITS);
    assert!(matches!(
        decide(&store, None, None, "GET /api/v1/keys").await,
        AuthOutcome::Unauthenticated {
            code: "UNAUTHENTICATED",
            ..
        }
    ));
    assert!(matches!(
        decide(&store, None, Some("Basic YWxpY2U6cHc="), "GET /api/v1/keys").await,
        AuthOutcome::Unauthenticated {
            code: "INVALID_TOKEN",
            ..
        }
    ));
    assert!(matches!(
        decide(&store, None, Some("Bearer abc"), "GET /api/v1/keys").await,
        AuthOutcome::Unauthenticated {
            code: "INVALID_TOKEN",
            ..
        }
    ));
}

#[tokio::test]
async fn a_principal_over_its_roles_limit_is_rate_limited_with_a_retry_after() {
    let (mut auth, key) = store_with(Role::Viewer, false).await;
    auth.limits = RateLimits::parse("admin=9/60,operator=9/60,agent=9/60,viewer=2/60").unwrap();
    let route = "GET /api/v1/mcp/models";
    assert!(matches!(
        decide(&auth, Some(&key), None, route).await,
        AuthOutcome::Allowed(_)
    ));
    assert!(matches!(
        decide(&auth, Some(&key), None, route).await,
        AuthOutcome::Allowed(_)
    ));
    let AuthOutcome::RateLimited {
        principal: Some(p),
        retry_after_secs: 30,
    } = decide(&auth, Some(&key), None, route).await
    else {
        panic!("not rate limited with its principal and a 30 s wait")
    };
    assert_eq!((p.tenant.as_str(), p.role), ("acme", Role::Viewer));
}

#[tokio::test]
async fn a_key_stored_for_a_tenant_that_breaks_the_pattern_is_refused() {
    let new = apikey::generate().unwrap();
    let store = InMemoryKeyStore::default();
    let record = ApiKeyRecord {
        key_id: new.key_id.clone(),
        tenant: "acme#legacy".into(),
        role: Role::Admin,
        name: "old".into(),
        created_at: NOW.into(),
        last_used_at: None,
        revoked: false,
        hash: new.hash.clone(),
    };
    store.create(&record).await.unwrap();
    let auth = authenticator(store, DEFAULT_RATE_LIMITS);
    assert!(matches!(
        decide(&auth, Some(new.key.expose()), None, "GET /api/v1/keys").await,
        AuthOutcome::Unauthenticated {
            code: "INVALID_API_KEY",
            ..
        }
    ));
}
