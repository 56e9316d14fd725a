use serde_json::{json, Value};

use super::definition::{parse, Edge};
use super::PipelineError;

/// The brief's six-stage pipeline, as the `pipelines-create` fixture sends it.
fn brief() -> Value {
    let event: Value = serde_json::from_str(include_str!("../../../events/pipelines-create/brief.json")).unwrap();
    serde_json::from_str(event["body"].as_str().unwrap()).unwrap()
}

fn refused(body: &Value) -> (String, String) {
    match parse(body) {
        Err(PipelineError::Invalid { field, message }) => (field, message),
        other => panic!("not refused as invalid: {other:?}"),
    }
}

#[test]
fn the_briefs_six_stage_chain_is_accepted_as_written() {
    let d = parse(&brief()).unwrap();
    assert_eq!(d.stages.len(), 6);
    assert_eq!(d.stages[5].depends_on, [4]);
    assert!(d.stages[0].depends_on.is_empty());
    assert_eq!(d.dependencies[0], Edge { from: 0, to: 1 });
}

#[test]
fn dependencies_may_name_stages_and_fan_out_and_in() {
    let mut body = brief();
    body["dependencies"] = json!([{"from": "data-ingestion", "to": "data-analysis"},
        {"from": "data-ingestion", "to": "data-transformation"},
        {"from": "data-analysis", "to": 5}, {"from": 1, "to": 5}, {"from": 1, "to": 5}]);
    let d = parse(&body).unwrap();
    assert_eq!(d.stages[5].depends_on, [2, 1]);
    assert_eq!(d.dependencies.len(), 4, "a repeated dependency counts once");
}

#[test]
fn a_cycle_is_refused_naming_its_stages_in_order() {
    let mut body = brief();
    body["dependencies"] = json!([{"from": 0, "to": 1}, {"from": 1, "to": 2}, {"from": 2, "to": 0}]);
    let (field, message) = refused(&body);
    assert_eq!(field, "dependencies");
    assert!(
        message.ends_with("data-ingestion → data-transformation → data-analysis → data-ingestion"),
        "{message}"
    );
}

#[test]
fn each_wrong_item_is_named() {
    let cases: Vec<(Value, &str)> = vec![
        (json!({"name": "p", "stages": []}), "stages"),
        (
            json!({"name": "p", "stages": [{"name": "a", "type": "mining"}]}),
            "stages[0].type",
        ),
        (
            json!({"name": "p", "stages": [{"name": "a", "type": "output"}, {"name": "a", "type": "output"}]}),
            "stages[1].name",
        ),
        (
            json!({"name": "p", "stages": [{"name": "a", "type": "output", "timeout": 0}]}),
            "stages[0].timeout",
        ),
        (
            json!({"name": "p", "stages": [{"name": "a", "type": "output", "retry_count": 9}]}),
            "stages[0].retry_count",
        ),
        (
            json!({"name": "p", "stages": [{"name": "a", "type": "output"}], "dependencies": [{"from": 0, "to": 3}]}),
            "dependencies[0].to",
        ),
        (
            json!({"name": "p", "stages": [{"name": "a", "type": "output"}], "dependencies": [{"from": "b", "to": 0}]}),
            "dependencies[0].from",
        ),
        (
            json!({"name": "p", "stages": [{"name": "a", "type": "output"}], "dependencies": [{"from": 0, "to": "a"}]}),
            "dependencies[0]",
        ),
        (
            json!({"name": "p p", "stages": [{"name": "a", "type": "output"}]}),
            "name",
        ),
        (
            json!({"name": "p", "stages": [{"name": "a", "type": "output", "owner": 1}]}),
            "stages[0].owner",
        ),
    ];
    for (body, field) in cases {
        assert_eq!(refused(&body).0, field, "{body}");
    }
}

#[tokio::test]
async fn a_pipeline_is_stored_for_its_tenant_only_and_reads_back_as_defined() {
    use super::memory::InMemoryPipelines;
    use super::store::PipelineStore;
    use crate::auth::{AuthMethod, Principal, Role};
    let store = InMemoryPipelines::default();
    let who = Principal {
        tenant: "acme".try_into().unwrap(),
        subject: "k1".into(),
        role: Role::Operator,
        method: AuthMethod::ApiKey,
    };
    let made = super::create(&store, &who, &brief(), chrono::Utc::now()).await.unwrap();
    assert!(
        crate::ids::IdKind::Pipeline.matches(&made.pipeline_id),
        "{}",
        made.pipeline_id
    );
    assert_eq!(super::get(&store, &who, &made.pipeline_id).await.unwrap(), made);
    assert!(store.get("globex", &made.pipeline_id).await.unwrap().is_none());
    let view = serde_json::to_value(&made).unwrap();
    assert_eq!(
        (view["name"].as_str(), view["stages"][1]["type"].as_str()),
        (Some("data-processing-pipeline"), Some("transformation"))
    );
    assert_eq!(view["stages"][1]["depends_on"], json!([0]));
}
