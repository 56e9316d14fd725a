use aws_types::os_shim_internal::Env;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use super::EnvOnly;

fn endpoint(env: &[(&str, &str)], service_id: &str) -> Option<String> {
    let key = ServiceConfigKey::builder()
        .service_id(service_id)
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .unwrap();
    EnvOnly(Env::from_slice(env)).load_config(key)
}

#[test]
fn a_service_s_own_endpoint_variable_wins_over_the_global_one() {
    // GIVEN a global endpoint and one for DynamoDB (the local stack sets both kinds)
    let env = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
    ];
    // THEN DynamoDB takes its own, SQS the global one
    assert_eq!(endpoint(&env, "DynamoDB").as_deref(), Some("http://127.0.0.1:8000"));
    assert_eq!(endpoint(&env, "SQS").as_deref(), Some("http://127.0.0.1:5000"));
    // AND a multi-word service id maps as the SDK maps it (upper case, spaces to underscores)
    let env = [("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:5001")];
    assert_eq!(
        endpoint(&env, "Secrets Manager").as_deref(),
        Some("http://127.0.0.1:5001")
    );
}

#[test]
fn no_endpoint_variable_leaves_the_default_endpoint() {
    assert_eq!(endpoint(&[], "DynamoDB"), None);
}
