//! Reading the configuration from variables.

use super::*;

fn vars(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let base = [
        ("TABLE_NAME", "mcpflow-Table"),
        (
            "PIPELINE_STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:123456789012:stateMachine:pipeline",
        ),
    ];
    base.iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn missing_table_name_is_reported_by_name() {
    // GIVEN an environment without TABLE_NAME
    let env = vec![("PIPELINE_STATE_MACHINE_ARN".to_owned(), "arn".to_owned())];
    // WHEN the configuration is read
    let err = Config::from_vars(env).unwrap_err();
    // THEN the error names the variable
    assert_eq!(
        err.to_string(),
        "environment variable TABLE_NAME is required but not set"
    );
}

#[test]
fn queue_urls_become_named_queues() {
    let config = Config::from_vars(vars(&[
        ("QUEUE_URL_TASK_HIGH", "http://q/task-high"),
        ("QUEUE_URL_TASK_HIGH_DLQ", "http://q/task-high-dlq"),
    ]))
    .unwrap();
    let names: Vec<_> = config.queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["task-high", "task-high-dlq"]);
    assert_eq!(config.queues[0].url, "http://q/task-high");
}

#[test]
fn lambda_json_log_format_selects_json_logs() {
    let config = Config::from_vars(vars(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")])).unwrap();
    assert_eq!(config.log_format, LogFormat::Json);
    assert_eq!(Config::from_vars(vars(&[])).unwrap().log_format, LogFormat::Text);
}

#[test]
fn health_timeout_must_be_a_positive_number() {
    let err = Config::from_vars(vars(&[("HEALTH_CHECK_TIMEOUT_MS", "soon")])).unwrap_err();
    assert!(err.to_string().contains("HEALTH_CHECK_TIMEOUT_MS"), "{err}");
    let ok = Config::from_vars(vars(&[("HEALTH_CHECK_TIMEOUT_MS", "250")])).unwrap();
    assert_eq!(ok.health_check_timeout, Duration::from_millis(250));
}

#[test]
fn jwt_needs_issuer_audience_and_a_long_enough_secret() {
    assert!(Config::from_vars(vars(&[])).unwrap().jwt.is_none());
    let secret = ("JWT_HS256_SECRET", "0123456789abcdef0123456789abcdef");
    let err = Config::from_vars(vars(&[secret])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "environment variable JWT_ISSUER is required but not set"
    );
    let short = Config::from_vars(vars(&[("JWT_HS256_SECRET", "short")])).unwrap_err();
    assert!(short.to_string().contains("at least 32 bytes"), "{short}");
    let ok = Config::from_vars(vars(&[
        secret,
        ("JWT_ISSUER", "https://i"),
        ("JWT_AUDIENCE", "mcpflow"),
    ]))
    .unwrap();
    assert_eq!(ok.jwt.unwrap().role_claim, "role");
}

#[test]
fn provider_credentials_are_kept_secret_and_empty_ones_ignored() {
    let config = Config::from_vars(vars(&[("OPENAI_API_KEY", "sk-very-secret"), ("ANTHROPIC_API_KEY", "")])).unwrap();
    assert!(config.credentials.contains_key("openai"));
    assert!(!config.credentials.contains_key("anthropic"));
    assert!(!format!("{config:?}").contains("sk-very-secret"));
}

#[test]
fn limits_default_as_documented_and_out_of_range_values_are_refused_by_name() {
    let config = Config::from_vars(vars(&[])).unwrap();
    assert_eq!(
        (config.limits.max_contexts_per_user, config.limits.max_nodes_per_context),
        (100, 1000)
    );
    let config = Config::from_vars(vars(&[("MAX_CONTEXTS_PER_USER", "30"), ("CONTEXT_TTL_SECS", "60")])).unwrap();
    assert_eq!(
        (config.limits.max_contexts_per_user, config.limits.context_ttl_secs),
        (30, 60)
    );
    for (name, value) in [
        ("MAX_CONTEXTS_PER_USER", "0"),
        ("MAX_NODE_BYTES", "300000"),
        ("MAX_PROMPT_BYTES", "x"),
        ("TASK_RETENTION_DAYS", "0"),
        ("TASK_RETENTION_DAYS", "3651"),
    ] {
        let err = Config::from_vars(vars(&[(name, value)])).unwrap_err();
        assert!(err.to_string().contains(name), "{err}");
    }
}

#[test]
fn task_retention_is_30_days_unless_task_retention_days_says_otherwise() {
    // GIVEN no setting, then a retention of 7 days
    let default = Config::from_vars(vars(&[])).unwrap();
    let week = Config::from_vars(vars(&[("TASK_RETENTION_DAYS", "7")])).unwrap();
    // THEN tasks are kept 30 days, then 7, in seconds
    assert_eq!(default.limits.task_retention_secs, 30 * 86_400);
    assert_eq!(week.limits.task_retention_secs, 7 * 86_400);
}

#[test]
fn a_catalog_can_come_inline_but_not_from_two_places() {
    let inline = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/models.json")).unwrap();
    let config = Config::from_vars(vars(&[("MCPFLOW_MODELS_JSON", &inline)])).unwrap();
    assert_eq!(config.models.default_model, "local-echo");
    let err = Config::from_vars(vars(&[
        ("MCPFLOW_MODELS_JSON", &inline),
        ("MCPFLOW_MODELS_FILE", "x.json"),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("not both"), "{err}");
}
