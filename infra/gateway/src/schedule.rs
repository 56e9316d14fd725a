//! `Schedule` events: like EventBridge, invokes a function with a Scheduled Event every period. A
//! failed invocation is logged and the next period comes as usual (EventBridge retries a failed
//! asynchronous invocation; the next run does the same work here).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::invoke::Invoker;

/// One schedule of one function.
#[derive(Debug, Clone)]
pub struct ScheduledRun {
    /// The function's bin name.
    pub function: String,
    /// The rule's ARN in the Scheduled Event.
    pub rule_arn: String,
    pub region: String,
    pub account: String,
    pub every: Duration,
}

/// The Scheduled Event EventBridge sends.
#[must_use]
pub fn scheduled_event(run: &ScheduledRun, now: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": run.account,
        "time": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": run.region,
        "resources": [run.rule_arn],
        "detail": {}
    })
}

/// Invokes the function every period, for ever.
pub async fn run<I: Invoker>(invoker: Arc<I>, run: ScheduledRun) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + run.every, run.every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let payload = scheduled_event(&run, chrono::Utc::now()).to_string().into_bytes();
        match invoker.invoke(&run.function, payload).await {
            Ok(_) => tracing::debug!(function = %run.function, "scheduled run done"),
            Err(e) => tracing::warn!(function = %run.function, error = %e, "scheduled run failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::invoke::InvokeError;

    /// Records what it is invoked with; its first invocation fails.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<serde_json::Value>>);

    impl Invoker for Recorder {
        async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
            let mut seen = self.0.lock().unwrap();
            seen.push(serde_json::from_slice(&payload).unwrap());
            if seen.len() == 1 {
                return Err(InvokeError::Unreachable {
                    function: function.into(),
                    reason: "down".into(),
                });
            }
            Ok(b"null".to_vec())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_schedule_invokes_its_function_every_period_with_a_scheduled_event_even_after_a_failure() {
        let recorder = Arc::new(Recorder::default());
        let run = ScheduledRun {
            function: "sweep".into(),
            rule_arn: "arn:aws:events:us-east-1:123456789012:rule/s-Sweep".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
            every: Duration::from_secs(60),
        };
        let task = tokio::spawn(super::run(Arc::clone(&recorder), run));
        tokio::time::sleep(Duration::from_secs(59)).await;
        assert!(recorder.0.lock().unwrap().is_empty(), "not before the first period");
        tokio::time::sleep(Duration::from_secs(122)).await;
        task.abort();
        let seen = recorder.0.lock().unwrap();
        assert_eq!(seen.len(), 3, "at 60, 120 and 180 s");
        assert_eq!(seen[2]["detail-type"], "Scheduled Event");
        assert_eq!(seen[2]["source"], "aws.events");
        assert_eq!(
            seen[2]["resources"][0],
            "arn:aws:events:us-east-1:123456789012:rule/s-Sweep"
        );
    }
}
