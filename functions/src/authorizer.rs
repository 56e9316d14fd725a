//! The Lambda REQUEST authorizer (payload 2.0, simple responses). It authenticates and checks the
//! permission table, then lets the request through with its verdict in the context: the function
//! answers 401/403 in the error envelope, which API Gateway's own deny answers cannot carry.

use aws_lambda_events::apigw::{ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request};
use lambda_runtime::{Error, LambdaEvent};
use shared::auth::authenticate::{Authenticator, Credentials};
use shared::keys::KeyStore;
use shared::ratelimit::RateLimiter;

/// Decides one request.
///
/// # Errors
/// When the key store cannot be reached (API Gateway then answers 500).
pub async fn handle<S: KeyStore, L: RateLimiter>(
    deps: &Authenticator<S, L>,
    event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>,
) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse, Error> {
    let req = event.payload;
    let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
    let credentials = Credentials {
        api_key: header("x-api-key"),
        authorization: header("authorization"),
    };
    let route_key = req.route_key.as_deref().unwrap_or_default();
    let outcome = deps.decide(credentials, route_key, chrono::Utc::now()).await?;
    tracing::info!(route = %route_key, verdict = ?std::mem::discriminant(&outcome), "authorizer decided");
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    response.is_authorized = true;
    response.context = serde_json::to_value(outcome.to_context())?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use shared::auth::{AuthOutcome, Role};
    use shared::keys::admin::issue_key;
    use shared::keys::InMemoryKeyStore;
    use shared::ratelimit::{InMemoryRateLimiter, RateLimits, DEFAULT_RATE_LIMITS};

    use super::*;

    fn authenticator(store: InMemoryKeyStore) -> Authenticator<InMemoryKeyStore, InMemoryRateLimiter> {
        let limits = RateLimits::parse(DEFAULT_RATE_LIMITS).unwrap();
        Authenticator {
            store,
            limiter: InMemoryRateLimiter::default(),
            limits,
            jwt: None,
        }
    }

    fn event(key: &str) -> LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request> {
        let path = format!("{}/../events/authorizer/api-key.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap().replace("MCPFLOW_TEST_KEY", key);
        LambdaEvent::new(serde_json::from_str(&text).unwrap(), lambda_runtime::Context::default())
    }

    #[tokio::test]
    async fn a_known_key_is_passed_on_as_its_principal() {
        let store = InMemoryKeyStore::default();
        let created = issue_key(&store, &"acme".try_into().unwrap(), "ci", Role::Viewer, "t")
            .await
            .unwrap();
        let deps = authenticator(store);
        let response = handle(&deps, event(created.key.expose())).await.unwrap();
        assert!(response.is_authorized);
        let context = serde_json::from_value(response.context).unwrap();
        let AuthOutcome::Allowed(p) = AuthOutcome::from_context(Some(&context)) else {
            panic!("{context:?}")
        };
        assert_eq!((p.tenant.as_str(), p.role), ("acme", Role::Viewer));
    }

    #[tokio::test]
    async fn an_unknown_key_is_passed_on_as_unauthenticated() {
        let deps = authenticator(InMemoryKeyStore::default());
        let response = handle(&deps, event("mcpf_0000000000000000_nope")).await.unwrap();
        let context = serde_json::from_value(response.context).unwrap();
        assert!(matches!(
            AuthOutcome::from_context(Some(&context)),
            AuthOutcome::Unauthenticated { .. }
        ));
    }
}
