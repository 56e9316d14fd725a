//! The figures of a window, as `system/performance` (WebSocket) and `GET /api/v1/metrics` (REST)
//! answer them, and the same figures in the Prometheus text exposition format.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::queues::QueueDepths;
use super::{summarize, MetricsStore, Resolution};

/// What the figures say about how they were made.
pub const NOTES: &str = "latency percentiles are the upper bound of the histogram bucket the rank falls in (bounds 1-2-3-5-7 per decade up to a minute); a task's `started` latency is its queue wait, a finished task's is the time from its creation to its finish; queue depths (admins only) are the system's, now";

/// The tenant's series over the last `minutes`, from minute buckets for up to an hour and hour
/// buckets beyond (whole buckets: the window is widened to the start of the bucket it starts in, and
/// says so in `from`); with `queues`, their depths now.
///
/// # Errors
/// A failed read of the buckets.
pub async fn figures(
    store: &dyn MetricsStore,
    queues: Option<&dyn QueueDepths>,
    tenant: &str,
    minutes: i64,
    now_ms: i64,
) -> anyhow::Result<Value> {
    let resolution = Resolution::for_window(minutes);
    let from_ms = resolution.start_of(now_ms - minutes * 60_000);
    let (buckets, depths) = tokio::join!(store.read(tenant, resolution, from_ms, now_ms), async {
        match queues {
            Some(q) => Some(q.depths().await),
            None => None,
        }
    });
    let (mut functions, mut tasks) = (Vec::new(), serde_json::Map::new());
    let mut finished = 0;
    for summary in summarize(&buckets?) {
        match summary.series.strip_prefix("task:") {
            Some(status) => {
                if status != "started" {
                    finished += summary.invocations;
                }
                tasks.insert(
                    status.to_owned(),
                    json!({"count": summary.invocations, "mean_ms": summary.mean_ms,
                           "p50_ms": summary.p50_ms, "p95_ms": summary.p95_ms, "p99_ms": summary.p99_ms}),
                );
            }
            None => functions.push(json!({"function": summary.series, "invocations": summary.invocations,
                "client_errors": summary.client_errors, "errors": summary.errors, "error_rate": summary.error_rate,
                "mean_ms": summary.mean_ms, "p50_ms": summary.p50_ms, "p95_ms": summary.p95_ms, "p99_ms": summary.p99_ms})),
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let per_minute = finished as f64 / ((now_ms - from_ms) as f64 / 60_000.0).max(1.0);
    let stamp = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    };
    let mut figures = json!({
        "window_minutes": minutes,
        "from": stamp(from_ms),
        "to": stamp(now_ms),
        "resolution": resolution,
        "functions": functions,
        "tasks": tasks,
        "tasks_finished_per_minute": per_minute,
        "notes": NOTES,
    });
    if let Some(depths) = depths {
        figures["queues"] = serde_json::to_value(depths)?;
    }
    Ok(figures)
}

/// A label value with `\`, `"` and newlines escaped, as the exposition format wants.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn number(v: &Value) -> Option<String> {
    v.as_u64()
        .map(|n| n.to_string())
        .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f.to_string()))
}

/// The figures in the Prometheus text exposition format (0.0.4): gauges of the window, and each
/// latency as a summary (`quantile` 0.5, 0.95, 0.99 in milliseconds, with `_sum` and `_count`).
#[must_use]
pub fn prometheus(figures: &Value) -> String {
    let mut out = String::new();
    let window = figures["window_minutes"].as_i64().unwrap_or(0);
    let _ = writeln!(
        out,
        "# mcpflow figures over the last {window} minutes, from {}",
        figures["from"].as_str().unwrap_or("?")
    );
    let empty = Vec::new();
    let functions = figures["functions"].as_array().unwrap_or(&empty);
    for (name, field, help) in [
        (
            "mcpflow_function_invocations",
            "invocations",
            "Invocations of each function in the window.",
        ),
        (
            "mcpflow_function_client_errors",
            "client_errors",
            "Invocations refused as the caller's mistake (4xx) in the window.",
        ),
        (
            "mcpflow_function_errors",
            "errors",
            "Invocations failed on the system's side (5xx, errors) in the window.",
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for f in functions {
            if let Some(v) = number(&f[field]) {
                let _ = writeln!(
                    out,
                    "{name}{{function=\"{}\"}} {v}",
                    label(f["function"].as_str().unwrap_or_default())
                );
            }
        }
    }
    let summary = |out: &mut String, name: &str, help: &str, rows: Vec<(String, &Value, &Value)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} summary");
        for (labels, row, count) in rows {
            for (q, field) in [("0.5", "p50_ms"), ("0.95", "p95_ms"), ("0.99", "p99_ms")] {
                if let Some(v) = number(&row[field]) {
                    let _ = writeln!(out, "{name}{{{labels},quantile=\"{q}\"}} {v}");
                }
            }
            let n = count.as_f64().unwrap_or(0.0);
            let mean = row["mean_ms"].as_f64().unwrap_or(0.0);
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", mean * n);
            let _ = writeln!(
                out,
                "{name}_count{{{labels}}} {}",
                number(count).unwrap_or_else(|| "0".into())
            );
        }
    };
    let rows = functions
        .iter()
        .map(|f| {
            (
                format!("function=\"{}\"", label(f["function"].as_str().unwrap_or_default())),
                f,
                &f["invocations"],
            )
        })
        .collect();
    summary(
        &mut out,
        "mcpflow_function_latency_milliseconds",
        "Latency of each function's invocations.",
        rows,
    );
    if let Some(tasks) = figures["tasks"].as_object() {
        let rows = tasks
            .iter()
            .map(|(status, t)| (format!("outcome=\"{}\"", label(status)), t, &t["count"]))
            .collect();
        summary(
            &mut out,
            "mcpflow_task_latency_milliseconds",
            "Tasks by outcome: `started` is the wait in the queue, the others creation to finish.",
            rows,
        );
    }
    let name = "mcpflow_tasks_finished_per_minute";
    let _ = writeln!(
        out,
        "# HELP {name} Tasks finished (completed, failed, cancelled) per minute of the window.\n# TYPE {name} gauge"
    );
    let _ = writeln!(
        out,
        "{name} {}",
        number(&figures["tasks_finished_per_minute"]).unwrap_or_else(|| "0".into())
    );
    if let Some(queues) = figures["queues"].as_array() {
        let name = "mcpflow_queue_messages";
        let _ = writeln!(
            out,
            "# HELP {name} Messages in each of the system's queues now, by state.\n# TYPE {name} gauge"
        );
        for q in queues {
            for state in ["waiting", "in_flight", "delayed"] {
                if let Some(v) = number(&q[state]) {
                    let _ = writeln!(
                        out,
                        "{name}{{queue=\"{}\",state=\"{state}\"}} {v}",
                        label(q["queue"].as_str().unwrap_or_default())
                    );
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_has_a_type_for_each_family_and_escaped_labels() {
        let figures = json!({"window_minutes": 60, "from": "2026-12-02T21:00:00.000Z",
            "functions": [{"function": "tasks-get", "invocations": 4, "client_errors": 1, "errors": 0,
                           "mean_ms": 12.5, "p50_ms": 10, "p95_ms": 20, "p99_ms": 20},
                          {"function": "we\"ird", "invocations": 1, "client_errors": 0, "errors": 1,
                           "mean_ms": 3.0, "p50_ms": 3, "p95_ms": 3, "p99_ms": null}],
            "tasks": {"completed": {"count": 2, "mean_ms": 100.0, "p50_ms": 100, "p95_ms": 150, "p99_ms": 150}},
            "tasks_finished_per_minute": 0.5,
            "queues": [{"queue": "task-high", "waiting": 3, "in_flight": 1, "delayed": 0}]});
        let text = prometheus(&figures);
        for line in [
            "# TYPE mcpflow_function_invocations gauge",
            "mcpflow_function_invocations{function=\"tasks-get\"} 4",
            "mcpflow_function_client_errors{function=\"tasks-get\"} 1",
            "mcpflow_function_errors{function=\"we\\\"ird\"} 1",
            "# TYPE mcpflow_function_latency_milliseconds summary",
            "mcpflow_function_latency_milliseconds{function=\"tasks-get\",quantile=\"0.95\"} 20",
            "mcpflow_function_latency_milliseconds_sum{function=\"tasks-get\"} 50",
            "mcpflow_function_latency_milliseconds_count{function=\"tasks-get\"} 4",
            "mcpflow_task_latency_milliseconds{outcome=\"completed\",quantile=\"0.5\"} 100",
            "mcpflow_tasks_finished_per_minute 0.5",
            "mcpflow_queue_messages{queue=\"task-high\",state=\"waiting\"} 3",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        assert!(!text.contains("quantile=\"0.99\"} null"), "{text}");
        // Every sample line is `name{labels} value` or `name value`, the value a number.
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let value = l.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{l}");
        }
    }
}
