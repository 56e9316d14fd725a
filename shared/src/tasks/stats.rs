//! A tenant's task counters, kept on write (never by scanning): what each transition adds, and how
//! the counters read as counts by status, completion rate, processing-time percentiles (as histogram
//! bucket bounds) and tasks served per provider.

use std::collections::BTreeMap;
use std::future::Future;

use serde_json::{json, Value};

use crate::conversation::store::StoreError;
use crate::tasks::model::millis_between;
use crate::tasks::model::{Task, TaskStatus};
/// Upper bounds (ms) of the processing-time histogram; slower ones land in `ms_gt_<last>`.
pub const BUCKETS_MS: [u64; 10] = [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000];

/// Counter name → value.
pub type Counters = BTreeMap<String, i64>;

/// Port: reads a tenant's counters.
pub trait TaskStats: Send + Sync {
    fn stats(&self, tenant: &str) -> impl Future<Output = Result<Counters, StoreError>> + Send;
}

fn bucket(ms: i64) -> String {
    match BUCKETS_MS.iter().find(|b| ms <= i64::try_from(**b).unwrap_or(i64::MAX)) {
        Some(b) => format!("ms_le_{b}"),
        None => format!("ms_gt_{}", BUCKETS_MS[BUCKETS_MS.len() - 1]),
    }
}

/// What finishing `task` (now `completed` or `failed`) adds.
#[must_use]
pub fn on_finish(task: &Task) -> Vec<(String, i64)> {
    let mut adds = vec![(task.status.as_str().to_owned(), 1)];
    if task.status == TaskStatus::Completed {
        if let Some(p) = &task.provider {
            adds.push((format!("served_by_{p}"), 1));
        }
        if let Some(ms) = task
            .finished_at
            .as_deref()
            .and_then(|f| millis_between(&task.created_at, f))
        {
            adds.push((bucket(ms), 1));
        }
    }
    adds
}

/// What creating `task` adds: a quick operation is created already completed.
#[must_use]
pub fn on_create(task: &Task) -> Vec<(String, i64)> {
    match task.status {
        TaskStatus::Completed => vec![("created".into(), 1), ("started".into(), 1), ("completed".into(), 1)],
        _ => vec![("created".into(), 1)],
    }
}

/// What the first start of a task adds (a takeover after a lost lease adds nothing).
#[must_use]
pub fn on_first_start() -> Vec<(String, i64)> {
    vec![("started".into(), 1)]
}

/// What cancelling a task that was `previous` adds.
#[must_use]
pub fn on_cancel(previous: TaskStatus) -> Vec<(String, i64)> {
    vec![(format!("cancelled_{}", previous.as_str()), 1)]
}

/// The value below which `share` of the histogram lies, as the bound of its bucket.
fn percentile(c: &Counters, share: f64) -> Option<String> {
    let counts: Vec<(String, i64)> = BUCKETS_MS
        .iter()
        .map(|b| (format!("<= {b} ms"), c.get(&format!("ms_le_{b}")).copied().unwrap_or(0)))
        .chain([(
            format!("> {} ms", BUCKETS_MS[BUCKETS_MS.len() - 1]),
            c.get(&bucket(i64::MAX)).copied().unwrap_or(0),
        )])
        .collect();
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let mut seen = 0;
    for (label, n) in counts {
        seen += n;
        #[allow(clippy::cast_precision_loss)]
        if seen as f64 >= share * total as f64 {
            return Some(label);
        }
    }
    None
}

/// The counters as `data://system/stats` shows them.
#[must_use]
pub fn view(c: &Counters) -> Value {
    let n = |k: &str| c.get(k).copied().unwrap_or(0);
    let cancelled = n("cancelled_pending") + n("cancelled_running");
    let finished = n("completed") + n("failed") + cancelled;
    let counts = json!({"pending": n("created") - n("started") - n("cancelled_pending"),
        "running": n("started") - n("completed") - n("failed") - n("cancelled_running"),
        "completed": n("completed"), "failed": n("failed"), "cancelled": cancelled});
    let served: BTreeMap<&str, i64> = c
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("served_by_")?, *v)))
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let rate = (finished > 0).then(|| n("completed") as f64 / finished as f64);
    json!({"tasks_created": n("created"), "counts_by_status": counts, "completion_rate": rate,
        "processing_time": {"p50": percentile(c, 0.5), "p95": percentile(c, 0.95),
            "histogram": c.iter().filter(|(k, _)| k.starts_with("ms_")).collect::<BTreeMap<_, _>>(),
            "note": "from creation to completion of completed tasks; percentiles are histogram bucket bounds"},
        "completed_by_provider": served,
        "note": "failed tasks tried every provider of their chain; the task's error names each and why"})
}

#[cfg(test)]
mod tests;
