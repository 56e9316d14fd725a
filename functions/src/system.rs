//! `GET /api/v1/summary` and `GET /api/v1/metrics`: a tenant's counts and the system's health in one
//! answer, and the figures its functions recorded over a window (JSON, or the Prometheus text
//! exposition format for `Accept: text/plain`).

use std::sync::Arc;

use chrono::Utc;
use lambda_http::Request;
use shared::agents::store::AgentStore;
use shared::agents::AgentTimeouts;
use shared::health::DependencyProbe;
use shared::metrics::queues::QueueDepths;
use shared::metrics::{self, MetricsStore};
use shared::summary::{self, AgentCounts, CountStore};
use shared::ApiError;

use crate::api::requests::{query, NoInput};
use crate::api::{ApiRequest, Authorized, Reply};
use crate::health::HealthChecks;

/// What the two routes read.
pub struct SystemDeps<C, G, H> {
    pub counts: C,
    pub agents: G,
    pub timeouts: AgentTimeouts,
    pub health: HealthChecks<H>,
    /// Where the functions' figures are kept.
    pub metrics: Arc<dyn MetricsStore>,
    /// The system's queues, whose depths an admin sees.
    pub queues: Option<Arc<dyn QueueDepths>>,
}

/// `GET /api/v1/summary`: contexts, tasks by status, registered items, pipelines, agents by
/// liveness, and the health report (cached 30 s), read at once.
///
/// # Errors
/// A failed read of the counts or the agents.
pub async fn summary<C: CountStore, G: AgentStore, H: DependencyProbe>(
    deps: &SystemDeps<C, G, H>,
    req: Authorized<NoInput>,
) -> Result<Reply, ApiError> {
    let now = Utc::now();
    let tenant = req.principal.tenant.as_str();
    let (counts, agents, health) = tokio::join!(
        deps.counts.counts(tenant, now.timestamp()),
        deps.agents.list(tenant),
        deps.health.report()
    );
    let counts = counts.map_err(|e| ApiError::unknown("summary counts failed", &e))?;
    let agents = agents.map_err(|e| ApiError::unknown("summary agents failed", &anyhow::Error::from(e)))?;
    let health = health.map_err(|e| ApiError::unknown("summary health failed", &e))?;
    let agents = AgentCounts::of(&agents, deps.timeouts, now.timestamp_millis());
    let at = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    Ok(Reply::ok(&summary::view(&counts, agents, health, &at)))
}

/// The longest window of `GET /api/v1/metrics`: a day (hour buckets are kept 8 days).
pub const MAX_WINDOW_MINUTES: i64 = 1440;

/// `GET /api/v1/metrics?window=`: the window in minutes, and whether the Prometheus text format is
/// asked for.
pub struct MetricsRequest {
    pub minutes: i64,
    pub prometheus: bool,
}

/// `5m`, `1h`, `24h` …: minutes from 1 to [`MAX_WINDOW_MINUTES`].
fn window_minutes(text: &str) -> Option<i64> {
    let (number, per) = match (text.strip_suffix('m'), text.strip_suffix('h')) {
        (Some(n), _) => (n, 1),
        (_, Some(n)) => (n, 60),
        _ => return None,
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let minutes = number.parse::<i64>().ok()?.checked_mul(per)?;
    (1..=MAX_WINDOW_MINUTES).contains(&minutes).then_some(minutes)
}

impl ApiRequest for MetricsRequest {
    fn parse(req: &Request) -> Result<Self, ApiError> {
        let minutes = match query(req, "window") {
            None => 60,
            Some(w) => window_minutes(&w).ok_or_else(|| {
                ApiError::bad_request(
                    "INVALID_REQUEST",
                    format!("window must be minutes or hours up to a day: 5m, 1h, 24h (at most {MAX_WINDOW_MINUTES} minutes)"),
                )
                .with_details(serde_json::json!({"field": "window"}))
            })?,
        };
        let accept = req
            .headers()
            .get(lambda_http::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        // Prometheus scrapers ask for text/plain (or OpenMetrics, answered as text 0.0.4 too).
        let prometheus = (accept.contains("text/plain") || accept.contains("application/openmetrics-text"))
            && !accept.contains("application/json");
        Ok(Self { minutes, prometheus })
    }
}

/// The Prometheus text exposition format's media type.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /api/v1/metrics`: per function invocations, client errors, errors and latency percentiles;
/// tasks by outcome with their queue wait and run time; tasks finished per minute; for an admin, the
/// queues' depths now.
///
/// # Errors
/// A bad `window` (`400`), a failed read.
pub async fn metrics<C, G, H>(deps: &SystemDeps<C, G, H>, req: Authorized<MetricsRequest>) -> Result<Reply, ApiError> {
    let queues = deps
        .queues
        .as_deref()
        .filter(|_| req.principal.role == shared::auth::Role::Admin);
    let figures = metrics::report::figures(
        deps.metrics.as_ref(),
        queues,
        &req.principal.tenant,
        req.request.minutes,
        Utc::now().timestamp_millis(),
    )
    .await
    .map_err(|e| ApiError::unknown("metrics read failed", &e))?;
    if req.request.prometheus {
        return Ok(Reply::text(metrics::report::prometheus(&figures), PROMETHEUS_TEXT));
    }
    Ok(Reply::ok(&figures))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use shared::agents::memory::InMemoryAgents;
    use shared::audit::InMemoryAuditLog;
    use shared::health::InMemoryProbe;
    use shared::metrics::memory::InMemoryMetrics;
    use shared::metrics::{Outcome, Sample};
    use shared::summary::Counts;

    use super::*;
    use crate::api::test_support::audit;
    use crate::api::{serve, App};
    use crate::http::test_support::{body_json, event, event_edited};

    /// Counts fixed by the test.
    struct Fixed(Counts);

    impl CountStore for Fixed {
        async fn counts(&self, _tenant: &str, _now_secs: i64) -> anyhow::Result<Counts> {
            Ok(self.0.clone())
        }
    }

    type System = App<SystemDeps<Fixed, InMemoryAgents, InMemoryProbe>, InMemoryAuditLog>;

    fn app(metrics: Arc<InMemoryMetrics>) -> System {
        let counts = Counts {
            contexts: 2,
            tasks: [
                ("created".to_owned(), 3),
                ("started".to_owned(), 3),
                ("completed".to_owned(), 3),
            ]
            .into(),
            pipelines: 1,
            ..Counts::default()
        };
        let deps = SystemDeps {
            counts: Fixed(counts),
            agents: InMemoryAgents::default(),
            timeouts: AgentTimeouts {
                stale_after_secs: 60,
                inactive_after_secs: 300,
            },
            health: HealthChecks::new(InMemoryProbe::default(), vec![], Duration::from_secs(1)),
            metrics,
            queues: None,
        };
        App::new(deps, audit())
    }

    #[tokio::test]
    async fn the_summary_fixture_answers_the_counts_and_health() {
        let answer = serve(&app(Arc::default()), summary, event("system-summary", "local")).await;
        assert_eq!(answer.status(), 200);
        let body = body_json(&answer);
        assert_eq!(body["contexts"], 2);
        assert_eq!(body["tasks"]["counts_by_status"]["completed"], 3);
        assert_eq!(body["agents"]["total"], 0);
        assert_eq!(body["health"]["status"], "ok");
    }

    #[tokio::test]
    async fn metrics_answer_json_or_prometheus_text_and_refuse_a_bad_window() {
        let store = Arc::new(InMemoryMetrics::default());
        let now = Utc::now().timestamp_millis();
        for outcome in [Outcome::Succeeded, Outcome::Refused] {
            let sample = Sample {
                tenant: "local",
                series: "tasks-get",
                at_ms: now,
                latency_ms: 12,
                outcome,
            };
            store.record(&sample).await.unwrap();
        }
        let app = app(store);
        let json = serve(&app, metrics, event("system-metrics", "last-hour")).await;
        assert_eq!(json.status(), 200);
        let figures = body_json(&json);
        assert_eq!(figures["functions"][0]["invocations"], 2, "{figures}");
        assert_eq!(figures["functions"][0]["client_errors"], 1);
        let text = event_edited("system-metrics", "last-hour", |e| {
            e["headers"]["accept"] = "text/plain".into()
        });
        let text = serve(&app, metrics, text).await;
        assert_eq!(text.headers()["content-type"], PROMETHEUS_TEXT);
        let lambda_http::Body::Text(body) = text.body() else {
            panic!("a text body")
        };
        assert!(
            body.contains("mcpflow_function_invocations{function=\"tasks-get\"} 2"),
            "{body}"
        );
        let bad = serve(&app, metrics, event("system-metrics", "bad-window")).await;
        assert_eq!(
            (
                bad.status().as_u16(),
                body_json(&bad)["error"]["details"]["field"].clone()
            ),
            (400, "window".into())
        );
    }

    #[test]
    fn windows_are_minutes_or_hours_up_to_a_day() {
        for (text, minutes) in [("5m", 5), ("1h", 60), ("24h", 1440), ("90m", 90), ("1m", 1)] {
            assert_eq!(window_minutes(text), Some(minutes), "{text}");
        }
        for bad in [
            "",
            "m",
            "0m",
            "25h",
            "1441m",
            "1d",
            "-5m",
            "+5m",
            "5",
            "1.5h",
            "5 m",
            "99999999999999999999h",
            "1ä",
            "ä",
            "1hm",
        ] {
            assert_eq!(window_minutes(bad), None, "{bad}");
        }
    }
}
