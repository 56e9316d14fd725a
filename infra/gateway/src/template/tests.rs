//! Unit tests of template parsing: functions, triggers, parameters and the project template.

use super::*;
use std::collections::BTreeMap;

const TEMPLATE: &str = r"
Parameters:
  Receives: {Type: Number, Default: 3}
Globals:
  Function:
    Environment:
      Variables:
        QUEUE_URL_WORK: !Ref Work
Resources:
  Work: {Type: AWS::SQS::Queue}
  Echo:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: rust-cargolambda, BuildProperties: {Binary: echo}}
    Properties:
      Events:
        Get: {Type: HttpApi, Properties: {Path: '/items/{id}', Method: get}}
        Fallback: {Type: HttpApi}
        Jobs:
          Type: SQS
          Properties: {Queue: !GetAtt Work.Arn, BatchSize: 5, FunctionResponseTypes: [ReportBatchItemFailures]}
        Sweep: {Type: Schedule, Properties: {Schedule: rate(5 minutes)}}
        Off: {Type: Schedule, Properties: {Schedule: rate(1 hour), Enabled: false}}
";

#[test]
fn a_function_carries_its_enabled_rate_schedules_and_a_cron_schedule_is_refused() {
    let template = Template::parse(TEMPLATE, PathBuf::from(".")).unwrap();
    let echo = &template.functions().unwrap()[0];
    let every = std::time::Duration::from_secs(300);
    assert_eq!(
        echo.schedules,
        [Schedule {
            name: "Sweep".into(),
            every
        }]
    );
    let cron = TEMPLATE.replace("rate(5 minutes)", "cron(0 12 * * ? *)");
    let err = Template::parse(&cron, PathBuf::from("."))
        .unwrap()
        .functions()
        .unwrap_err();
    assert!(err.to_string().contains("is not rate(N unit)"), "{err}");
}

#[test]
fn functions_carry_their_routes_and_sqs_triggers() {
    let template = Template::parse(TEMPLATE, PathBuf::from(".")).unwrap();
    let functions = template.functions().unwrap();
    assert_eq!(functions.len(), 1);
    let echo = &functions[0];
    assert_eq!(echo.binary, "echo");
    let keys: Vec<_> = echo.http_routes.iter().map(HttpRoute::route_key).collect();
    assert_eq!(keys, ["GET /items/{id}", "$default"]);
    assert_eq!(
        echo.sqs_triggers,
        [SqsTrigger {
            queue_logical_id: "Work".into(),
            batch_size: 5,
            report_batch_item_failures: true,
            maximum_concurrency: None,
            batching_window_secs: 0,
        }]
    );
}

#[test]
fn parameters_and_global_environment_are_read() {
    let template = Template::parse(TEMPLATE, PathBuf::from(".")).unwrap();
    assert_eq!(template.parameters["Receives"], Value::from(3));
    assert!(template.globals_env.contains_key("QUEUE_URL_WORK"));
}

#[test]
fn a_function_without_a_binary_name_is_rejected() {
    let text = "Resources:\n  F: {Type: AWS::Serverless::Function, Properties: {}}\n";
    let err = Template::parse(text, PathBuf::from("."))
        .unwrap()
        .functions()
        .unwrap_err();
    assert!(
        err.to_string().contains("F has no Metadata.BuildProperties.Binary"),
        "{err}"
    );
}

#[test]
fn the_project_template_parses_and_routes_health() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let functions = Template::load(&path).unwrap().functions().unwrap();
    let health = functions.iter().find(|f| f.binary == "health").unwrap();
    assert!(health
        .http_routes
        .iter()
        .any(|r| r.route_key() == "GET /api/v1/mcp/health"));
}

#[test]
fn every_triggered_queue_hides_a_message_longer_than_its_function_may_run() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let template = Template::load(&path).unwrap();
    let number = |v: &Value| match v {
        Value::Tagged(t) => template.parameters[t.value.as_str().unwrap()].as_u64().unwrap(),
        other => other.as_u64().unwrap(),
    };
    for function in template.functions().unwrap() {
        let timeout = template.function_timeout(&function.logical_id, &BTreeMap::new());
        for trigger in &function.sqs_triggers {
            let queue = &template
                .resources
                .iter()
                .find(|r| r.logical_id == trigger.queue_logical_id)
                .unwrap()
                .properties;
            let visibility = number(&queue["VisibilityTimeout"]);
            assert!(
                visibility >= 6 * timeout,
                "{}: visibility {visibility} s < 6 × {timeout} s",
                trigger.queue_logical_id
            );
        }
    }
}

#[test]
fn a_function_timeout_comes_from_its_parameter_override_or_default() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let template = Template::load(&path).unwrap();
    let worker = "TaskWorkerFunction";
    assert_eq!(template.function_timeout(worker, &BTreeMap::new()), 900);
    let overrides = BTreeMap::from([("WorkerTimeoutSeconds".to_owned(), "45".to_owned())]);
    assert_eq!(template.function_timeout(worker, &overrides), 45);
    assert_eq!(template.function_timeout("HealthFunction", &BTreeMap::new()), 10);
}

#[test]
fn every_function_has_a_log_group_with_retention_and_every_alarm_notifies_the_alarm_topic() {
    // GIVEN the project template
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let template = Template::load(&path).unwrap();
    let sub = |v: &Value| match v {
        Value::Tagged(t) if t.tag == "!Sub" => t.value.as_str().map(str::to_owned),
        _ => None,
    };
    let kept: Vec<String> = template
        .of_type("AWS::Logs::LogGroup")
        .filter(|g| g.properties.get("RetentionInDays").is_some())
        .filter_map(|g| sub(g.properties.get("LogGroupName")?))
        .collect();
    // THEN each function's default log group is one of them
    for function in template.of_type("AWS::Serverless::Function") {
        let name = format!("/aws/lambda/${{{}}}", function.logical_id);
        assert!(
            kept.contains(&name),
            "{} has no log group with retention",
            function.logical_id
        );
    }
    // AND each alarm notifies the topic when it fires and when it clears
    let topic = Some(crate::intrinsic::Reference::Ref("AlarmTopic".into()));
    for alarm in template.of_type("AWS::CloudWatch::Alarm") {
        for actions in ["AlarmActions", "OKActions"] {
            let listed = alarm.properties.get(actions).and_then(Value::as_sequence);
            let notifies = listed.is_some_and(|a| a.iter().any(|v| crate::intrinsic::reference(v) == topic));
            assert!(notifies, "{}: {actions} does not name AlarmTopic", alarm.logical_id);
        }
    }
}

#[test]
fn every_get_route_of_the_project_template_that_only_reads_has_a_head_twin_with_its_authorizer() {
    // API Gateway routes HEAD only to HEAD routes, never to the GET route of the same path. The one
    // GET that claims something (an agent's next task) has none: a HEAD must not claim.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let claims = |r: &HttpRoute| r.path.ends_with("/tasks/next");
    for function in Template::load(&path).unwrap().functions().unwrap() {
        for get in function.http_routes.iter().filter(|r| r.method == "GET") {
            let twin = HttpRoute {
                method: "HEAD".into(),
                ..get.clone()
            };
            if claims(get) {
                assert!(
                    !function.http_routes.contains(&twin),
                    "{} must not have a HEAD twin",
                    get.route_key()
                );
                continue;
            }
            assert!(
                function.http_routes.contains(&twin),
                "{}: {} has no HEAD twin",
                function.logical_id,
                get.route_key()
            );
        }
    }
}

#[test]
fn the_project_template_turns_cors_on_only_with_cors_allowed_origins() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let template = Template::load(&path).unwrap();
    let cors = |overrides: &[(&str, &str)]| {
        let overrides = overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let parameters = crate::provision::parameter_values(&template, &overrides).unwrap();
        crate::cors::CorsConfig::from_template(&template, &parameters).unwrap()
    };
    assert_eq!(cors(&[]), None);
    let on = cors(&[("CorsAllowedOrigins", "https://console.mcpflow.test")]).unwrap();
    assert_eq!(on.allow_origins, ["https://console.mcpflow.test"]);
    assert_eq!(on.allow_methods, ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]);
    assert!(on.allow_headers.iter().any(|h| h == "x-api-key"));
    assert!(on.expose_headers.iter().any(|h| h == "x-request-id"));
    assert_eq!((on.max_age, on.allow_credentials), (Some(600), false));
}
