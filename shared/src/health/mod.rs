//! Health: is every dependency (the table, each queue, the state machine) reachable, and how fast.

pub mod aws;

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::Config;

/// Something the functions depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dependency {
    Table { name: String },
    Queue { name: String, url: String },
    StateMachine { arn: String },
}

impl Dependency {
    /// `dynamodb:<table>`, `sqs:<queue>` or `states:<state machine>`: how reports name it.
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Self::Table { name } => format!("dynamodb:{name}"),
            Self::Queue { name, .. } => format!("sqs:{name}"),
            Self::StateMachine { arn } => format!("states:{}", arn.rsplit(':').next().unwrap_or(arn)),
        }
    }

    /// Every dependency the configuration names.
    #[must_use]
    pub fn all(config: &Config) -> Vec<Self> {
        let mut deps = vec![Self::Table {
            name: config.table_name.clone(),
        }];
        deps.extend(config.queues.iter().map(|q| Self::Queue {
            name: q.name.clone(),
            url: q.url.clone(),
        }));
        deps.push(Self::StateMachine {
            arn: config.pipeline_state_machine_arn.clone(),
        });
        deps
    }
}

/// Port: checks that one dependency answers. The error is a short reason safe to show a client.
pub trait DependencyProbe: Send + Sync {
    fn probe(&self, dependency: &Dependency) -> impl Future<Output = Result<(), String>> + Send;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct DependencyHealth {
    pub name: String,
    pub status: Status,
    pub latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    pub status: Status,
    pub version: &'static str,
    pub dependencies: Vec<DependencyHealth>,
}

impl HealthReport {
    /// The names of the dependencies that failed.
    #[must_use]
    pub fn failed(&self) -> Vec<&str> {
        self.dependencies
            .iter()
            .filter(|d| d.status == Status::Error)
            .map(|d| d.name.as_str())
            .collect()
    }
}

/// Probes every dependency at once, each bounded by `timeout`.
pub async fn check<P: DependencyProbe>(
    probe: &P,
    dependencies: &[Dependency],
    version: &'static str,
    timeout: Duration,
) -> HealthReport {
    let checks = dependencies.iter().map(|dep| async move {
        let started = Instant::now();
        let outcome = match tokio::time::timeout(timeout, probe.probe(dep)).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
        };
        let latency_ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
        let name = dep.label();
        if let Err(reason) = &outcome {
            tracing::warn!(dependency = %name, %reason, "dependency check failed");
        }
        DependencyHealth {
            name,
            status: outcome.as_ref().map_or(Status::Error, |()| Status::Ok),
            latency_ms,
            error: outcome.err(),
        }
    });
    let dependencies = futures::future::join_all(checks).await;
    let status = if dependencies.iter().all(|d| d.status == Status::Ok) {
        Status::Ok
    } else {
        Status::Error
    };
    HealthReport {
        status,
        version,
        dependencies,
    }
}

/// In-memory probe for unit tests: the dependencies whose labels it holds are down.
#[derive(Debug, Default)]
pub struct InMemoryProbe {
    pub down: BTreeSet<String>,
}

impl DependencyProbe for InMemoryProbe {
    async fn probe(&self, dependency: &Dependency) -> Result<(), String> {
        if self.down.contains(&dependency.label()) {
            Err("unreachable".to_owned())
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps() -> Vec<Dependency> {
        vec![
            Dependency::Table { name: "t".into() },
            Dependency::Queue {
                name: "task-high".into(),
                url: "http://q".into(),
            },
            Dependency::StateMachine {
                arn: "arn:aws:states:us-east-1:1:stateMachine:pipeline".into(),
            },
        ]
    }

    #[tokio::test]
    async fn all_dependencies_up_is_ok() {
        let report = check(&InMemoryProbe::default(), &deps(), "1.0.0", Duration::from_secs(1)).await;
        assert_eq!(report.status, Status::Ok);
        assert_eq!(report.dependencies.len(), 3);
        assert!(report.failed().is_empty());
    }

    #[tokio::test]
    async fn a_queue_down_is_named_in_the_failures() {
        let probe = InMemoryProbe {
            down: BTreeSet::from(["sqs:task-high".to_owned()]),
        };
        let report = check(&probe, &deps(), "1.0.0", Duration::from_secs(1)).await;
        assert_eq!(report.status, Status::Error);
        assert_eq!(report.failed(), ["sqs:task-high"]);
    }

    struct Hangs;
    impl DependencyProbe for Hangs {
        async fn probe(&self, _: &Dependency) -> Result<(), String> {
            std::future::pending().await
        }
    }

    #[tokio::test]
    async fn a_dependency_that_never_answers_fails_after_the_timeout() {
        let report = check(&Hangs, &deps()[..1], "1.0.0", Duration::from_millis(20)).await;
        assert_eq!(report.dependencies[0].error.as_deref(), Some("no answer within 20 ms"));
    }

    #[test]
    fn state_machines_are_named_by_the_last_part_of_their_arn() {
        assert_eq!(deps()[2].label(), "states:pipeline");
    }
}
