//! `GET /api/v1/mcp/health` and `GET /api/v1/health`: 200 when every dependency answers, else 503 naming the failed ones.

use std::time::Duration;

use lambda_http::{Body, Error, Request, Response};
use serde_json::Value;
use shared::health::{self, Dependency, DependencyProbe, Status};
use shared::ApiError;

use crate::http;

/// What the health handler needs, built once per cold start.
pub struct HealthDeps<P> {
    pub probe: P,
    pub dependencies: Vec<Dependency>,
    pub version: &'static str,
    pub timeout: Duration,
}

/// Probes every dependency and reports.
///
/// # Errors
/// Never: every outcome is an HTTP response.
pub async fn handle<P: DependencyProbe>(deps: &HealthDeps<P>, req: Request) -> Result<Response<Body>, Error> {
    let report = health::check(&deps.probe, &deps.dependencies, deps.version, deps.timeout).await;
    if report.status == Status::Ok {
        return Ok(http::json(200, &report));
    }
    let message = format!("unavailable: {}", report.failed().join(", "));
    let err = ApiError::new(503, "DEPENDENCY_UNAVAILABLE", message).with_details(serde_json::to_value(&report)?);
    Ok(http::error(&err, &http::request_id(&req)))
}

/// The dependency checks of `system/diagnostics` and `GET /summary`: those of `GET /health`, with its
/// timeout, their report kept for [`HEALTH_CACHE`] so that asking often does not probe AWS each time.
pub struct HealthChecks<H> {
    pub probe: H,
    pub dependencies: Vec<Dependency>,
    pub timeout: std::time::Duration,
    pub cached: std::sync::Mutex<Option<(std::time::Instant, Value)>>,
}

/// How long one health report is answered again.
pub const HEALTH_CACHE: std::time::Duration = std::time::Duration::from_secs(30);

impl<H: DependencyProbe> HealthChecks<H> {
    #[must_use]
    pub fn new(probe: H, dependencies: Vec<Dependency>, timeout: std::time::Duration) -> Self {
        Self {
            probe,
            dependencies,
            timeout,
            cached: std::sync::Mutex::new(None),
        }
    }

    /// The last report if younger than [`HEALTH_CACHE`], else a new one.
    pub(crate) async fn report(&self) -> anyhow::Result<Value> {
        let lock = || self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, report)) = lock().as_ref() {
            if at.elapsed() < HEALTH_CACHE {
                return Ok(report.clone());
            }
        }
        let checked = health::check(&self.probe, &self.dependencies, env!("CARGO_PKG_VERSION"), self.timeout);
        let report = serde_json::to_value(checked.await)?;
        *lock() = Some((std::time::Instant::now(), report.clone()));
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use shared::health::InMemoryProbe;

    use super::*;
    use crate::http::test_support::{body_json, event};

    fn deps(down: &[&str]) -> HealthDeps<InMemoryProbe> {
        HealthDeps {
            probe: InMemoryProbe {
                down: down.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>(),
            },
            dependencies: vec![
                Dependency::Table {
                    name: "mcpflow-Table".into(),
                },
                Dependency::Queue {
                    name: "task-high".into(),
                    url: "http://127.0.0.1:5000/q".into(),
                },
            ],
            version: "0.1.0",
            timeout: Duration::from_secs(1),
        }
    }

    #[tokio::test]
    async fn health_returns_200_with_every_dependency_ok() {
        let response = handle(&deps(&[]), event("health", "get")).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = body_json(&response);
        assert_eq!(body["status"], "ok");
        assert_eq!(body["dependencies"][1]["name"], "sqs:task-high");
        assert_eq!(body["dependencies"][1]["status"], "ok");
    }

    #[tokio::test]
    async fn health_returns_503_naming_the_failed_queue_in_the_envelope() {
        let response = handle(&deps(&["sqs:task-high"]), event("health", "get")).await.unwrap();
        assert_eq!(response.status(), 503);
        let body = body_json(&response);
        assert_eq!(body["error"]["code"], "DEPENDENCY_UNAVAILABLE");
        assert_eq!(body["error"]["message"], "unavailable: sqs:task-high");
        assert_eq!(body["error"]["details"]["dependencies"][0]["status"], "ok");
        assert_eq!(body["request_id"], "JZ7cXiNqIAMEVtw=");
    }
}
