//! The Lambda REQUEST authorizer (payload 2.0, simple responses). It authenticates and checks the
//! permission table, then lets the request through with its verdict in the context: the function
//! answers 401/403 in the error envelope, which API Gateway's own deny answers cannot carry.

use aws_lambda_events::apigw::{ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request};
use lambda_runtime::{Error, LambdaEvent};
use shared::auth::authenticate::{Authenticator, Credentials};
use shared::auth::AuthOutcome;
use shared::keys::KeyStore;
use shared::ratelimit::RateLimiter;

/// Decides one request.
///
/// A key store or rate limiter that cannot be reached is the verdict `unavailable` (the function
/// answers `503` in the envelope).
///
/// # Errors
/// Any other failure to decide (API Gateway then answers 500).
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
    let outcome = match deps.decide(credentials, route_key, chrono::Utc::now()).await {
        Ok(outcome) => outcome,
        Err(e) if shared::error::is_unavailable(e.as_ref()) => {
            tracing::error!(route = %route_key, error = %format!("{e:#}"), "authorizer could not decide: a store is unavailable");
            AuthOutcome::Unavailable
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(route = %route_key, verdict = ?std::mem::discriminant(&outcome), "authorizer decided");
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    response.is_authorized = true;
    response.context = serde_json::to_value(outcome.to_context())?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use shared::auth::Role;
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
            last_use: shared::auth::authenticate::LastUse::default(),
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
    async fn a_key_store_that_cannot_be_reached_is_passed_on_as_unavailable() {
        use aws_sdk_dynamodb::config::{retry::RetryConfig, BehaviorVersion, Credentials, Region};
        let nowhere = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .endpoint_url("http://127.0.0.1:9")
            .retry_config(RetryConfig::disabled())
            .build();
        let store =
            shared::keys::dynamodb::DynamoDbKeyStore::new(aws_sdk_dynamodb::Client::from_conf(nowhere), "t".into());
        let deps = Authenticator {
            store,
            limiter: InMemoryRateLimiter::default(),
            limits: RateLimits::parse(DEFAULT_RATE_LIMITS).unwrap(),
            jwt: None,
            last_use: shared::auth::authenticate::LastUse::default(),
        };
        let key = format!("mcpf_{}_{}", "0".repeat(16), "A".repeat(43));
        let response = handle(&deps, event(&key)).await.unwrap();
        assert!(response.is_authorized);
        let context = serde_json::from_value(response.context).unwrap();
        assert_eq!(AuthOutcome::from_context(Some(&context)), AuthOutcome::Unavailable);
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
