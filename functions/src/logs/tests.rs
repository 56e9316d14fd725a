//! The logs route on its `events/` fixtures, and the events the HTTP adapter records.

use std::sync::Arc;

use shared::audit::InMemoryAuditLog;
use shared::logs::memory::InMemoryLogs;
use shared::metrics::memory::InMemoryMetrics;
use shared::metrics::Recorder;

use super::*;
use crate::api::test_support::audit;
use crate::api::{serve, App};
use crate::http::test_support::{body_json, event};

#[tokio::test]
async fn each_fixture_answers_its_documented_status() {
    let app: App<InMemoryLogs, InMemoryAuditLog> = App::new(InMemoryLogs::default(), audit());
    let ok = serve(&app, list, event("logs-list", "warnings")).await;
    let bad = serve(&app, list, event("logs-list", "bad-kind")).await;
    assert_eq!((ok.status().as_u16(), bad.status().as_u16()), (200, 400));
    assert_eq!(body_json(&bad)["error"]["details"]["field"], "kind");
}

#[tokio::test]
async fn every_answered_request_is_an_event_of_its_callers_tenant_without_its_query() {
    // GIVEN a route whose recorder logs into memory
    let logs = Arc::new(InMemoryLogs::default());
    let recorder = Recorder::named(Arc::new(InMemoryMetrics::default()), "logs-list").with_logs(logs.clone());
    let app: App<InMemoryLogs, InMemoryAuditLog> = App::new(InMemoryLogs::default(), audit()).measured(recorder);
    // WHEN it answers a good and a bad request
    serve(&app, list, event("logs-list", "warnings")).await;
    serve(&app, list, event("logs-list", "bad-kind")).await;
    // THEN each is an event of the fixture's tenant, naming the route (not the query) and the code
    let events = logs.all();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.tenant == "local" && e.function == "logs-list"));
    assert_eq!(events[0].fields["route"], "GET /api/v1/logs");
    assert_eq!(
        (events[0].fields["status"].as_u64(), events[1].fields["status"].as_u64()),
        (Some(200), Some(400))
    );
    assert_eq!(events[1].fields["code"], "INVALID_REQUEST");
    assert!(!serde_json::to_string(&events).unwrap().contains("everything"));
}
