//! The pipeline handlers on their `events/` fixtures with the in-memory store.

use shared::audit::InMemoryAuditLog;
use shared::pipelines::memory::InMemoryPipelines;

use super::*;
use crate::api::test_support::audit;
use crate::api::{serve, App};
use crate::http::test_support::{body_json, event, event_edited};

type Pipelines = App<InMemoryPipelines, InMemoryAuditLog>;

#[tokio::test]
async fn each_fixture_answers_its_documented_status_and_a_created_pipeline_reads_back() {
    let app: Pipelines = App::new(InMemoryPipelines::default(), audit()).audited();
    let created = serve(&app, create, event("pipelines-create", "brief")).await;
    let cyclic = serve(&app, create, event("pipelines-create", "cycle")).await;
    let listed = serve(&app, list, event("pipelines-list", "operator")).await;
    let unknown = serve(&app, get, event("pipelines-get", "unknown")).await;
    assert_eq!(
        [created.status(), cyclic.status(), listed.status(), unknown.status()].map(|s| s.as_u16()),
        [201, 400, 200, 404]
    );
    let id = body_json(&created)["pipeline_id"].as_str().unwrap().to_owned();
    assert_eq!(body_json(&cyclic)["error"]["details"]["field"], "dependencies");
    let read = event_edited("pipelines-get", "unknown", |e| {
        e["rawPath"] = format!("/api/v1/pipelines/{id}").into();
        e["pathParameters"]["pipelineID"] = id.clone().into();
    });
    let read = body_json(&serve(&app, get, read).await);
    assert_eq!(read["stages"][5]["depends_on"], serde_json::json!([4]), "{read}");
}
