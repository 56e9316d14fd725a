use serde_json::json;

use super::*;
use crate::pipelines::definition::parse;

fn pipeline(body: Value) -> Pipeline {
    Pipeline {
        pipeline_id: "pln_1".into(),
        tenant: "acme".into(),
        definition: parse(&body).unwrap(),
        created_at: "2026-12-02T10:00:00.000Z".into(),
        created_by: "k1".into(),
    }
}

fn diamond() -> Execution {
    let p = pipeline(json!({"name": "d", "stages": [
        {"name": "a", "type": "data-ingestion"}, {"name": "b", "type": "analysis", "required": false},
        {"name": "c", "type": "transformation"}, {"name": "d", "type": "output", "timeout": 10}],
        "dependencies": [{"from": "a", "to": "b"}, {"from": "a", "to": "c"}, {"from": "b", "to": "d"}, {"from": "c", "to": "d"}]}));
    let request = execute_request(&json!({"input_data": {"rows": 3}}), false).unwrap();
    Execution::new(&p, "exe_1".into(), request, "k1", "2026-12-02T10:00:00.000Z")
}

#[test]
fn the_machine_input_carries_ids_and_timings_only() {
    let e = diamond();
    let input = e.machine_input();
    assert_eq!(
        input["stages"][3],
        json!({"index": 3, "name": "d", "deps": 2, "required": true, "timeout": 10,
        "heartbeat": 9, "retry_count": 0, "gate_timeout": e.gate_timeout()})
    );
    assert!(input.get("input_data").is_none());
    assert_eq!(e.stages[0].status, StageStatus::Pending);
    assert_eq!(e.stages[3].status, StageStatus::Waiting);
}

#[test]
fn a_gate_opens_once_every_dependency_is_done_and_an_optional_failure_counts_as_done() {
    let mut e = diamond();
    e.gates.insert(3, "tok-d".into());
    e.gates.insert(1, "tok-b".into());
    assert!(e.ready_gates().is_empty());
    e.stages[0].status = StageStatus::Completed;
    e.stages[0].output = Some(json!({"rows": 3, "clean": true}));
    assert_eq!(e.ready_gates(), [(1, "tok-b".to_owned())]);
    e.gates.remove(&1);
    assert_eq!(e.input_of(1), json!({"rows": 3, "clean": true}));
    e.stages[2].status = StageStatus::Completed;
    e.stages[2].output = Some(json!("c-out"));
    assert!(e.ready_gates().is_empty(), "b is not done");
    e.stages[1].status = StageStatus::Failed;
    assert_eq!(e.ready_gates(), [(3, "tok-d".to_owned())]);
    assert_eq!(e.input_of(3), json!({"b": null, "c": "c-out"}));
    assert_eq!(e.input_of(0), json!({"rows": 3}));
}

#[test]
fn a_required_failure_keeps_its_dependents_waiting() {
    let mut e = diamond();
    e.stages[0].status = StageStatus::Failed;
    assert!(!e.ready(1) && !e.ready(2));
}

#[test]
fn the_view_hides_tokens_and_the_secret_and_counts_progress() {
    let mut e = diamond();
    e.gates.insert(3, "tok".into());
    e.notification.secret = Some("whsec_x".into());
    e.stages[0].status = StageStatus::Completed;
    e.stages[1].status = StageStatus::Running;
    let v = e.view();
    assert!(
        v.get("gates").is_none() && v["notification"].get("secret").is_none(),
        "{v}"
    );
    assert_eq!(v["progress"], json!(0.25));
    assert_eq!(
        v["current_stages"],
        json!(["b"]),
        "c waits at its gate until the dispatcher opens it"
    );
    assert_eq!(v["completed_stages"], json!(["a"]));
}

#[test]
fn execute_bodies_are_checked_field_by_field() {
    let bad = |body: Value| execute_request(&body, false).unwrap_err().0;
    assert_eq!(bad(json!({"input": 1})), "input");
    assert_eq!(bad(json!({"parameters": [1]})), "parameters");
    assert_eq!(
        bad(json!({"notification": {"webhook": "ftp://x"}})),
        "notification.webhook"
    );
    assert_eq!(
        bad(json!({"notification": {"webhook": "http://127.0.0.1:9/x"}})),
        "notification.webhook"
    );
    assert_eq!(bad(json!({"notification": {"email": "nobody"}})), "notification.email");
    assert_eq!(bad(json!({"input_data": "x".repeat(MAX_INPUT_BYTES)})), "input_data");
    let ok = execute_request(&json!({"notification": {"webhook": "http://127.0.0.1:9/x"}}), true).unwrap();
    assert!(ok.notification.secret.unwrap().starts_with("whsec_"));
    assert_eq!(ok.parameters, json!({}));
}

#[tokio::test]
async fn an_update_of_a_known_execution_writes_at_once_and_reads_only_after_a_lost_race() {
    use crate::providers::replay::{serve, Answer};
    let refused = || {
        Answer::json(
            400,
            &json!({"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                "message": "The conditional request failed"}),
        )
    };
    let mut known = diamond();
    known.version = 1;
    // The execution as a cancel left it meanwhile, at version 2.
    let mut moved = diamond();
    moved.status = ExecutionStatus::Cancelled;
    let item = json!({"Item": {"pk": {"S": "TENANT#acme"}, "sk": {"S": "EXEC#exe_1"},
        "doc": {"S": serde_json::to_string(&moved).unwrap()}, "version": {"N": "2"}}});
    // GIVEN a table that takes the first write; then one whose first write loses to another
    let (base, received) = serve(vec![
        Answer::ok(&json!({})),
        refused(),
        Answer::ok(&item),
        Answer::ok(&json!({})),
    ])
    .await;
    let executions = dynamodb::DynamoDbExecutions::new(crate::dynamodb::replay_client(&base), "mcpflow".into());
    let arn = |e: &mut Execution| {
        e.execution_arn = Some("arn:x".into());
        ((), true)
    };
    // WHEN the execution this caller wrote is updated twice from what it knows
    let first = store::update_known(&executions, "acme", "exe_1", Some(known.clone()), arn)
        .await
        .unwrap();
    let second = store::update_known(&executions, "acme", "exe_1", Some(known), arn)
        .await
        .unwrap();
    // THEN the first is one write; the second reads after its write lost, and writes on what it read
    let targets: Vec<String> = received.lock().unwrap().iter().map(|r| r.target().to_owned()).collect();
    let expected = ["PutItem", "PutItem", "GetItem", "PutItem"].map(|t| format!("DynamoDB_20120810.{t}"));
    assert_eq!(targets, expected);
    assert_eq!(first.unwrap().0.version, 2);
    let (after, ()) = second.unwrap();
    assert_eq!((after.version, after.status), (3, ExecutionStatus::Cancelled));
    assert_eq!(after.execution_arn.as_deref(), Some("arn:x"));
    assert_eq!(
        received.lock().unwrap()[3].body["ExpressionAttributeValues"][":read"],
        json!({"N": "2"})
    );
}
