//! A function's recorder: where its invocations are counted, under its name.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

// The kept samples' age on tokio's clock, which a test can pause and advance.
use tokio::time::Instant as TokioInstant;

use futures::StreamExt;

use super::{Counts, MetricsStore, Outcome, Resolution, Sample};
use crate::logs::{LogEvent, LogStore};

/// Buckets an instance keeps before it writes them whatever their age.
pub const MAX_PENDING_BUCKETS: usize = 256;
/// Log events an instance keeps before it writes them whatever their age (four `BatchWriteItem`s).
pub const MAX_PENDING_EVENTS: usize = 100;

/// Bucket writes of one batch in flight at once.
const WRITES_AT_ONCE: usize = 16;

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

/// A function's recorder: its store, its name, and the samples it has not written yet; with a log
/// store, the same for its log events (`GET /api/v1/logs`), kept and written with the samples.
///
/// With a zero `flush_every` each sample is written at once (two `UpdateItem`s, its minute and hour
/// buckets, joined). Otherwise a sample that comes after `flush_every` without a write (the first of
/// an instance, or of a burst) is still written at once, and the ones after it are added up in the
/// instance by bucket and written together (one `UpdateItem` per bucket, 16 at a time) by the first
/// invocation that finds the oldest of them `flush_every` old, or that brings the kept buckets to
/// [`MAX_PENDING_BUCKETS`]; a timer in the instance writes them too when no invocation comes. Lambda
/// freezes an instance between invocations, so there the timer fires only when the instance is
/// thawed, and the kept tail of a burst waits for the instance's next invocation; Lambda retires an
/// idle instance without a word, and the tail is lost with it (at most `flush_every` of samples).
/// Figures are best-effort, as every metrics write is.
///
/// Once [`Recorder::defer_to_after_response`] is called (the Lambda runtime layer of the functions
/// does), a write that a sample makes due is not made while the invocation answers, but by
/// [`Recorder::after_response`], which the layer calls once the invocation's response is posted and
/// before the instance asks for its next event: Lambda has already handed the answer to the caller
/// then, and does not freeze the instance until it asks. So no caller waits for a metrics write,
/// not even a cold start's, and none is lost for it.
#[derive(Clone)]
pub struct Recorder {
    pub store: Arc<dyn MetricsStore>,
    /// Where log events go (`None`: nowhere).
    pub logs: Option<Arc<dyn LogStore>>,
    pub function: String,
    flush_every: Duration,
    pending: Arc<Mutex<Pending>>,
}

/// Counts by tenant, resolution, bucket start and series.
type Batch = BTreeMap<(String, Resolution, i64, String), Counts>;

/// The samples kept since `since`, added up; when this instance last wrote; whether a timer will
/// write them; whether writes wait for the response, and whether one is waiting.
#[derive(Default)]
struct Pending {
    since: Option<TokioInstant>,
    written: Option<TokioInstant>,
    timer: bool,
    deferred: bool,
    ready: bool,
    buckets: Batch,
    events: Vec<LogEvent>,
}

/// What one write sends: metric buckets and log events.
#[derive(Default)]
struct Kept {
    buckets: Batch,
    events: Vec<LogEvent>,
}

impl Pending {
    fn add(&mut self, sample: &Sample<'_>) {
        self.since.get_or_insert_with(TokioInstant::now);
        for resolution in Resolution::ALL {
            let counts = Counts::of(sample, resolution);
            let key = (
                sample.tenant.to_owned(),
                resolution,
                counts.start_ms,
                counts.series.clone(),
            );
            self.buckets
                .entry(key)
                .or_insert_with(|| Counts::empty(sample.series, counts.start_ms))
                .merge(&counts);
        }
    }

    fn due(&self, every: Duration) -> bool {
        self.buckets.len() >= MAX_PENDING_BUCKETS
            || self.events.len() >= MAX_PENDING_EVENTS
            || self.since.is_some_and(|since| since.elapsed() >= every)
    }

    /// Nothing kept, and nothing written for `every`: a sample now is the first of a burst.
    fn quiet(&self, every: Duration) -> bool {
        self.buckets.is_empty() && self.events.is_empty() && self.written.is_none_or(|at| at.elapsed() >= every)
    }

    fn take(&mut self) -> Kept {
        self.since = None;
        self.ready = false;
        if !self.buckets.is_empty() || !self.events.is_empty() {
            self.written = Some(TokioInstant::now());
        }
        Kept {
            buckets: std::mem::take(&mut self.buckets),
            events: std::mem::take(&mut self.events),
        }
    }
}

impl Recorder {
    /// A recorder named `function` that writes each sample at once.
    #[must_use]
    pub fn named(store: Arc<dyn MetricsStore>, function: impl Into<String>) -> Self {
        Self {
            store,
            logs: None,
            function: function.into(),
            flush_every: Duration::ZERO,
            pending: Arc::default(),
        }
    }

    /// A recorder for this function (see [`set_function_name`]), keeping samples for up to
    /// `flush_every` (zero: none).
    #[must_use]
    pub fn for_this_function(store: Arc<dyn MetricsStore>, flush_every: Duration) -> Self {
        Self::named(store, function_name()).keeping_for(flush_every)
    }

    /// The same recorder, recording log events into `logs` too.
    #[must_use]
    pub fn with_logs(self, logs: Arc<dyn LogStore>) -> Self {
        Self {
            logs: Some(logs),
            ..self
        }
    }

    /// The same recorder, keeping samples for up to `flush_every` (zero: none).
    #[must_use]
    pub fn keeping_for(self, flush_every: Duration) -> Self {
        Self { flush_every, ..self }
    }

    /// From now on, the writes a sample makes due wait for [`Recorder::after_response`] (for every
    /// clone of this recorder).
    pub fn defer_to_after_response(&self) {
        self.lock().deferred = true;
    }

    /// Makes the writes an invocation made due, if it made any: called once its response is posted.
    pub async fn after_response(self) {
        let kept = {
            let mut pending = self.lock();
            if pending.ready {
                pending.take()
            } else {
                Kept::default()
            }
        };
        self.write(kept).await;
    }

    /// Writes what this instance keeps, now.
    pub async fn flush(&self) {
        let batch = self.lock().take();
        self.write(batch).await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn write(&self, kept: Kept) {
        tokio::join!(self.write_buckets(kept.buckets), self.write_events(kept.events));
    }

    async fn write_events(&self, events: Vec<LogEvent>) {
        let Some(logs) = self.logs.as_ref().filter(|_| !events.is_empty()) else {
            return;
        };
        if let Err(e) = logs.put(&events).await {
            tracing::warn!(events = events.len(), error = %e, "log events not recorded");
        }
    }

    async fn write_buckets(&self, batch: Batch) {
        if batch.is_empty() {
            return;
        }
        let writes: Vec<_> = batch
            .iter()
            .map(|((tenant, resolution, _, _), counts)| self.store.add(tenant, *resolution, counts))
            .collect();
        let results: Vec<anyhow::Result<()>> = futures::stream::iter(writes)
            .buffer_unordered(WRITES_AT_ONCE)
            .collect()
            .await;
        let failed: Vec<anyhow::Error> = results.into_iter().filter_map(Result::err).collect();
        if let Some(e) = failed.first() {
            tracing::warn!(buckets = batch.len(), failed = failed.len(), error = %e, "metrics samples not recorded");
        }
    }

    /// A timer that writes the kept samples when the oldest is due, unless an invocation did it
    /// first, for as long as samples are kept.
    fn flush_later(&self) {
        let recorder = self.clone();
        tokio::spawn(async move {
            loop {
                let wake = {
                    let mut pending = recorder.lock();
                    let Some(since) = pending.since else {
                        pending.timer = false;
                        return;
                    };
                    since + recorder.flush_every
                };
                tokio::time::sleep_until(wake).await;
                let kept = {
                    let mut pending = recorder.lock();
                    if pending.due(recorder.flush_every) {
                        pending.take()
                    } else {
                        Kept::default()
                    }
                };
                recorder.write(kept).await;
            }
        });
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
        if self.flush_every.is_zero() {
            if let Err(e) = self.store.record(&sample).await {
                tracing::warn!(series, error = %e, "metrics sample not recorded");
            }
            return;
        }
        self.keep(|pending| pending.add(&sample)).await;
    }

    /// Records a log event (when there is a log store), named as this function's.
    pub async fn event(&self, mut event: LogEvent) {
        if self.logs.is_none() {
            return;
        }
        event.function.clone_from(&self.function);
        if self.flush_every.is_zero() {
            self.write_events(vec![event]).await;
            return;
        }
        self.keep(|pending| {
            pending.since.get_or_insert_with(TokioInstant::now);
            pending.events.push(event);
        })
        .await;
    }

    /// Adds to what is kept with `add`; writes it all when the instance was quiet or it is due (or,
    /// deferred, leaves it to [`Recorder::after_response`]), else makes sure a timer will.
    async fn keep(&self, add: impl FnOnce(&mut Pending)) {
        let (kept, set_timer) = {
            let mut pending = self.lock();
            let quiet = pending.quiet(self.flush_every);
            add(&mut pending);
            if pending.ready {
                (Kept::default(), false)
            } else if quiet || pending.due(self.flush_every) {
                if pending.deferred {
                    pending.ready = true;
                    (Kept::default(), false)
                } else {
                    (pending.take(), false)
                }
            } else {
                let set_timer = !pending.timer && tokio::runtime::Handle::try_current().is_ok();
                pending.timer |= set_timer;
                (Kept::default(), set_timer)
            }
        };
        self.write(kept).await;
        if set_timer {
            self.flush_later();
        }
    }
}

/// Records when there is a recorder.
pub async fn record_invocation(recorder: Option<&Recorder>, tenant: Option<&str>, started: Instant, outcome: Outcome) {
    if let (Some(recorder), Some(tenant)) = (recorder, tenant) {
        recorder.invocation(tenant, started, outcome).await;
    }
}
