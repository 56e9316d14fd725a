//! Secrets Manager against moto: a `*_ARN` variable becomes the secret's value at cold start.

use shared::secrets::{resolve, SecretsManager};
use shared::Config;

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_jwt_secret_arn_is_read_from_secrets_manager_into_the_config() {
    // GIVEN a secret in Secrets Manager (moto)
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let name = format!("mcpflow/e2e-{}", uuid::Uuid::new_v4().simple());
    let value = "a-secret-of-at-least-thirty-two-bytes-0123";
    let created = client.create_secret().name(&name).secret_string(value).send().await;
    let arn = created.expect(crate::helpers::NEEDS_STACK).arn.unwrap();
    // WHEN the configuration is read with JWT_HS256_SECRET_ARN naming it
    let vars: Vec<(String, String)> = [
        ("TABLE_NAME", "t"),
        (
            "PIPELINE_STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:123456789012:stateMachine:p",
        ),
        ("JWT_HS256_SECRET_ARN", arn.as_str()),
        ("JWT_ISSUER", "https://issuer.test"),
        ("JWT_AUDIENCE", "mcpflow"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let config = Config::from_vars(resolve(vars, &SecretsManager::new(client)).await.unwrap()).unwrap();
    // THEN bearer tokens are on, with the secret's value (which never prints)
    let jwt = config.jwt.expect("bearer tokens configured");
    let shared::auth::jwt::JwtKeys::Hs256(secret) = jwt.keys else {
        panic!("HS256 expected")
    };
    assert_eq!(secret.expose(), value);
    assert!(!format!("{secret:?}").contains(value));
}
