//! A function's recorder: where its invocations are counted, under its name.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use super::{MetricsStore, Outcome, Sample};

static FUNCTION_NAME: OnceLock<&'static str> = OnceLock::new();

/// Names this process's function (a bin calls it with `env!("CARGO_BIN_NAME")`), so that its series
/// is named alike locally and in AWS, whatever name the stack gave the Lambda function.
pub fn set_function_name(name: &'static str) {
    let _ = FUNCTION_NAME.set(name);
}

/// The function's name: as its bin set it, else as Lambda names it.
fn function_name() -> String {
    FUNCTION_NAME.get().map_or_else(
        || std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "unknown".into()),
        |name| (*name).to_owned(),
    )
}

/// A function's recorder: its store and its name.
#[derive(Clone)]
pub struct Recorder {
    pub store: Arc<dyn MetricsStore>,
    pub function: String,
}

impl Recorder {
    /// A recorder for this function (see [`set_function_name`]).
    #[must_use]
    pub fn for_this_function(store: Arc<dyn MetricsStore>) -> Self {
        Self {
            store,
            function: function_name(),
        }
    }

    /// Records one invocation of this function for `tenant`, started at `started`.
    pub async fn invocation(&self, tenant: &str, started: Instant, outcome: Outcome) {
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.sample(tenant, &self.function, latency_ms, outcome).await;
    }

    /// Records one sample of `series`; a failure is logged.
    pub async fn sample(&self, tenant: &str, series: &str, latency_ms: u64, outcome: Outcome) {
        let sample = Sample {
            tenant,
            series,
            at_ms: chrono::Utc::now().timestamp_millis(),
            latency_ms,
            outcome,
        };
        if let Err(e) = self.store.record(&sample).await {
            tracing::warn!(series, error = %e, "metrics sample not recorded");
        }
    }
}

/// Records when there is a recorder.
pub async fn record_invocation(recorder: Option<&Recorder>, tenant: Option<&str>, started: Instant, outcome: Outcome) {
    if let (Some(recorder), Some(tenant)) = (recorder, tenant) {
        recorder.invocation(tenant, started, outcome).await;
    }
}
