//! What the functions record as they run, and the figures read back from it (`system/performance`).
//!
//! Every invocation a function can put a tenant to (an HTTP request with a principal, a WebSocket
//! message on an open connection, a task message) is one [`Sample`] of its *series*: the function's
//! name as Lambda gives it (`AWS_LAMBDA_FUNCTION_NAME`, the bin's name locally). The worker adds the
//! series `task:completed` and `task:failed` (the task's queue wait as its latency), for throughput
//! and queue age. A sample is counted in two buckets of the tenant, the minute and the hour it falls
//! in: invocations, client refusals (`4xx`), failures (`5xx`, errors), the summed latency and a
//! latency histogram over [`BOUNDS_MS`]. Percentiles read from the histogram are the upper bound of
//! the bucket the rank falls in, so a `p95_ms` of 150 means "at most 150 ms, more than 100 ms".
//!
//! A tenant reads only its own buckets. An invocation without a tenant (a refused `401`, a
//! connection that never authenticated) is not recorded: nobody could read it. Recording is
//! best-effort: a failed write is logged, the request it measured is answered anyway.
//!
//! A [`Recorder`] may keep its samples in the instance for up to `METRICS_FLUSH_SECS` and write them
//! together, one `UpdateItem` per bucket they fall in, so that a busy function does not pay two writes
//! per invocation (see [`Recorder`]).

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use serde::Serialize;

pub mod dynamodb;
pub mod memory;
pub mod queues;
mod recorder;
pub mod report;

pub use recorder::{record_invocation, set_function_name, Recorder, MAX_PENDING_BUCKETS};

/// The upper bounds of the latency histogram's buckets, in milliseconds: 1-2-3-5-7 per decade up to a
/// minute, then 2, 5, 15 and 30 minutes (Lambda's limit is 15), 1, 4 and 24 hours (a task's wait). A
/// latency above the last bound counts in one more bucket, read back as the last bound.
pub const BOUNDS_MS: [u64; 35] = [
    1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1_000, 1_500, 2_000, 3_000, 5_000, 7_000,
    10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 300_000, 900_000, 1_800_000, 3_600_000, 14_400_000, 86_400_000,
];

/// Buckets of a histogram: one per bound and one above the last.
pub const BUCKETS: usize = BOUNDS_MS.len() + 1;

/// The histogram bucket a latency counts in.
#[must_use]
pub fn bucket_of(latency_ms: u64) -> usize {
    BOUNDS_MS.partition_point(|&bound| bound < latency_ms)
}

/// How an invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// Refused as the caller's mistake (`4xx`, a protocol error).
    Refused,
    /// Failed on the system's side (`5xx`, an error).
    Failed,
}

impl Outcome {
    /// The outcome of an HTTP status.
    #[must_use]
    pub fn of_status(status: u16) -> Self {
        match status {
            500.. => Self::Failed,
            400..=499 => Self::Refused,
            _ => Self::Succeeded,
        }
    }
}

/// One invocation of a series, for a tenant.
#[derive(Debug, Clone)]
pub struct Sample<'a> {
    pub tenant: &'a str,
    pub series: &'a str,
    pub at_ms: i64,
    pub latency_ms: u64,
    pub outcome: Outcome,
}

/// The width of a bucket, and how long it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Kept for [`MINUTE_BUCKETS_KEPT_SECS`].
    Minute,
    /// Kept for [`HOUR_BUCKETS_KEPT_SECS`].
    Hour,
}

/// Minute buckets are kept for 2 hours.
pub const MINUTE_BUCKETS_KEPT_SECS: i64 = 2 * 3600;
/// Hour buckets are kept for 8 days.
pub const HOUR_BUCKETS_KEPT_SECS: i64 = 8 * 86_400;

impl Resolution {
    pub const ALL: [Self; 2] = [Self::Minute, Self::Hour];

    #[must_use]
    pub fn width_ms(self) -> i64 {
        match self {
            Self::Minute => 60_000,
            Self::Hour => 3_600_000,
        }
    }

    #[must_use]
    pub fn kept_secs(self) -> i64 {
        match self {
            Self::Minute => MINUTE_BUCKETS_KEPT_SECS,
            Self::Hour => HOUR_BUCKETS_KEPT_SECS,
        }
    }

    /// The start of the bucket `at_ms` falls in.
    #[must_use]
    pub fn start_of(self, at_ms: i64) -> i64 {
        at_ms - at_ms.rem_euclid(self.width_ms())
    }

    /// Minute buckets for a window of up to an hour, hour buckets beyond.
    #[must_use]
    pub fn for_window(minutes: i64) -> Self {
        if minutes <= 60 {
            Self::Minute
        } else {
            Self::Hour
        }
    }
}

/// One bucket of one series: what was counted in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    pub series: String,
    pub start_ms: i64,
    pub invocations: u64,
    pub refused: u64,
    pub failed: u64,
    pub total_ms: u64,
    /// [`BUCKETS`] counts.
    pub histogram: Vec<u64>,
}

impl Counts {
    /// An empty bucket.
    #[must_use]
    pub fn empty(series: &str, start_ms: i64) -> Self {
        Self {
            series: series.to_owned(),
            start_ms,
            invocations: 0,
            refused: 0,
            failed: 0,
            total_ms: 0,
            histogram: vec![0; BUCKETS],
        }
    }

    /// The bucket of `resolution` that `sample` falls in, counting it alone.
    #[must_use]
    pub fn of(sample: &Sample<'_>, resolution: Resolution) -> Self {
        let mut counts = Self::empty(sample.series, resolution.start_of(sample.at_ms));
        counts.add(sample);
        counts
    }

    /// Counts `sample` in this bucket.
    pub fn add(&mut self, sample: &Sample<'_>) {
        self.invocations += 1;
        match sample.outcome {
            Outcome::Succeeded => {}
            Outcome::Refused => self.refused += 1,
            Outcome::Failed => self.failed += 1,
        }
        self.total_ms += sample.latency_ms;
        self.histogram[bucket_of(sample.latency_ms)] += 1;
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &Self) {
        self.invocations += other.invocations;
        self.refused += other.refused;
        self.failed += other.failed;
        self.total_ms += other.total_ms;
        for (mine, theirs) in self.histogram.iter_mut().zip(&other.histogram) {
            *mine += theirs;
        }
    }

    /// The upper bound of the bucket the `q`-quantile falls in (the last bound for one above it;
    /// `None` without invocations).
    #[must_use]
    pub fn quantile_ms(&self, q: f64) -> Option<u64> {
        let total: u64 = self.histogram.iter().sum();
        if total == 0 {
            return None;
        }
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, count) in self.histogram.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(BOUNDS_MS[i.min(BOUNDS_MS.len() - 1)]);
            }
        }
        None
    }
}

/// A series over a window.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub series: String,
    pub invocations: u64,
    /// `4xx` answers and protocol refusals.
    pub client_errors: u64,
    /// `5xx` answers and errors.
    pub errors: u64,
    pub error_rate: f64,
    pub mean_ms: f64,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub p99_ms: Option<u64>,
}

/// The buckets' counts per series, in series order.
#[must_use]
pub fn summarize(buckets: &[Counts]) -> Vec<Summary> {
    let mut merged: BTreeMap<&str, Counts> = BTreeMap::new();
    for bucket in buckets {
        merged
            .entry(&bucket.series)
            .or_insert_with(|| Counts::empty(&bucket.series, bucket.start_ms))
            .merge(bucket);
    }
    merged
        .into_values()
        .map(|c| {
            #[allow(clippy::cast_precision_loss)]
            let per = |x: u64| {
                if c.invocations == 0 {
                    0.0
                } else {
                    x as f64 / c.invocations as f64
                }
            };
            Summary {
                invocations: c.invocations,
                client_errors: c.refused,
                errors: c.failed,
                error_rate: per(c.failed),
                mean_ms: per(c.total_ms),
                p50_ms: c.quantile_ms(0.5),
                p95_ms: c.quantile_ms(0.95),
                p99_ms: c.quantile_ms(0.99),
                series: c.series,
            }
        })
        .collect()
}

/// Port: where samples are counted and read back.
pub trait MetricsStore: Send + Sync {
    /// Adds `counts` to the tenant's bucket of `resolution` that starts at `counts.start_ms`, of the
    /// series `counts.series`.
    fn add<'a>(
        &'a self,
        tenant: &'a str,
        resolution: Resolution,
        counts: &'a Counts,
    ) -> BoxFuture<'a, anyhow::Result<()>>;

    /// Counts `sample` in its minute and hour buckets.
    fn record<'a>(&'a self, sample: &'a Sample<'a>) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let [minute, hour] = Resolution::ALL.map(|resolution| Counts::of(sample, resolution));
            let (m, h) = futures::join!(
                self.add(sample.tenant, Resolution::Minute, &minute),
                self.add(sample.tenant, Resolution::Hour, &hour)
            );
            m.and(h)
        })
    }

    /// The tenant's buckets of `resolution` that start in `from_ms..=to_ms`, every series.
    fn read<'a>(
        &'a self,
        tenant: &'a str,
        resolution: Resolution,
        from_ms: i64,
        to_ms: i64,
    ) -> BoxFuture<'a, anyhow::Result<Vec<Counts>>>;
}

/// The series of the task outcome `status` (`task:completed`, `task:failed`).
#[must_use]
pub fn task_series(status: &str) -> String {
    format!("task:{status}")
}

#[cfg(test)]
mod tests;
