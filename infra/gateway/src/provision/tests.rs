//! Unit tests of what the provisioner resolves from the project template, without an emulator.

use super::*;
use std::path::Path;

fn project_template() -> Template {
    Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml")).unwrap()
}

/// The project stack as `provision` leaves it: a physical id for each table, queue and state
/// machine, the WebSocket API and its stage served locally, and nothing for any other resource.
fn provisioned(template: &Template) -> Provisioned {
    let kinds = [
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::Serverless::StateMachine",
    ];
    let resources = template
        .resources
        .iter()
        .filter(|r| kinds.contains(&r.kind.as_str()))
        .map(|r| {
            let physical = Physical {
                reference: format!("local-{}", r.logical_id),
                attributes: BTreeMap::new(),
            };
            (r.logical_id.clone(), physical)
        })
        .collect();
    let mut out = Provisioned {
        stack: Stack {
            name: "test".into(),
            region: "us-east-1".into(),
            account: "000000000000".into(),
        },
        parameters: parameter_defaults(template),
        resources,
    };
    register_websocket_apis(template, &mut out);
    out
}

#[test]
fn the_project_functions_environment_resolves_from_tables_queues_and_state_machines_alone() {
    // GIVEN the project template, which also holds log groups, roles, a topic and alarms
    let template = project_template();
    for kind in [
        "AWS::Logs::LogGroup",
        "AWS::IAM::Role",
        "AWS::SNS::Topic",
        "AWS::CloudWatch::Alarm",
    ] {
        assert!(template.of_type(kind).next().is_some(), "the template has no {kind}");
    }
    // WHEN the functions' environment is resolved against what the provisioner creates
    let env = provisioned(&template).function_environment(&template).unwrap();
    // THEN each variable names its table, queue or state machine, or holds its parameter's default
    assert_eq!(env["TABLE_NAME"], "local-Table");
    assert_eq!(env["QUEUE_URL_TASK_HIGH"], "local-TaskQueueHigh");
    assert_eq!(env["QUEUE_URL_STAGE_DLQ"], "local-StageQueueDLQ");
    assert_eq!(env["PIPELINE_STATE_MACHINE_ARN"], "local-PipelineStateMachine");
    assert_eq!(env["TASK_DEADLINE_SECS"], "120");
    assert_eq!(
        env["WEBSOCKET_ENDPOINT"],
        "https://local-ws.execute-api.us-east-1.amazonaws.com/v1"
    );
    assert_eq!(
        env["RATE_LIMITS"],
        "admin=600/60,operator=300/60,agent=600/60,viewer=120/60"
    );
}

#[test]
fn parameter_overrides_reach_the_functions_environment() {
    // GIVEN the project stack with the worker's task deadline overridden
    let template = project_template();
    let mut stack = provisioned(&template);
    stack.parameters.insert("TaskDeadlineSeconds".into(), "45".into());
    // WHEN the environment is resolved
    let env = stack.function_environment(&template).unwrap();
    // THEN the function sees the override, not the default
    assert_eq!(env["TASK_DEADLINE_SECS"], "45");
}
