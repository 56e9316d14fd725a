//! Pipeline definitions through the local gateway: the brief's six-stage chain accepted as written
//! and read back, a cycle refused naming its stages, another tenant's pipeline unknown.

use serde_json::{json, Value};

use crate::auth_matrix::{jwt, secret};
use crate::helpers::{fresh_tenant, remember_secret, Credential};

fn admin_of(tenant: &str) -> Credential {
    let token = jwt(tenant, "admin", &json!({}), &secret());
    remember_secret(&token);
    ("authorization", format!("Bearer {token}"))
}

/// The brief's six-stage pipeline, as the `pipelines-create` fixture sends it.
fn brief() -> Value {
    let event: Value = serde_json::from_str(include_str!("../../../events/pipelines-create/brief.json")).unwrap();
    serde_json::from_str(event["body"].as_str().unwrap()).unwrap()
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn the_briefs_pipeline_is_defined_and_read_back_and_a_cycle_is_refused_by_name() {
    // GIVEN a tenant's admin
    let admin = admin_of(&fresh_tenant("pipes"));
    // WHEN it defines the brief's six-stage pipeline as written
    let (status, made) = crate::conversation::post(&admin, "/api/v1/pipelines", &brief()).await;
    assert_eq!(status, 201, "{made}");
    let id = made["pipeline_id"].as_str().unwrap();
    // THEN it reads back with each stage's dependencies, and is listed
    let (status, read) = crate::conversation::get(&admin, &format!("/api/v1/pipelines/{id}")).await;
    assert_eq!(status, 200, "{read}");
    let waits: Vec<Value> = read["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["depends_on"].clone())
        .collect();
    assert_eq!(
        waits,
        [json!([]), json!([0]), json!([1]), json!([2]), json!([3]), json!([4])]
    );
    assert_eq!(read["stages"][4]["timeout"], 1200);
    let (_, listed) = crate::conversation::get(&admin, "/api/v1/pipelines").await;
    assert_eq!(listed["pipelines"][0]["pipeline_id"], id, "{listed}");
    // AND a definition with a cycle is a 400 naming the stages of the cycle
    let mut cyclic = brief();
    cyclic["dependencies"] = json!([{"from": "data-ingestion", "to": "data-analysis"},
        {"from": "data-analysis", "to": "output-generation"}, {"from": "output-generation", "to": "data-ingestion"}]);
    let (status, refused) = crate::conversation::post(&admin, "/api/v1/pipelines", &cyclic).await;
    assert_eq!(
        (status, refused["error"]["details"]["field"].as_str()),
        (400, Some("dependencies")),
        "{refused}"
    );
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.ends_with("data-ingestion → data-analysis → output-generation → data-ingestion"),
        "{message}"
    );
    // AND an unknown stage is named too
    let mut unknown = brief();
    unknown["dependencies"] = json!([{"from": 0, "to": 9}]);
    let (status, refused) = crate::conversation::post(&admin, "/api/v1/pipelines", &unknown).await;
    assert_eq!(
        (status, refused["error"]["details"]["field"].as_str()),
        (400, Some("dependencies[0].to"))
    );
    // AND another tenant does not see the pipeline
    let stranger = admin_of(&fresh_tenant("stranger"));
    let (status, _) = crate::conversation::get(&stranger, &format!("/api/v1/pipelines/{id}")).await;
    assert_eq!(status, 404);
}
