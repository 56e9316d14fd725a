//! Round trips to AWS, counted per service and operation in this process when
//! `MCPFLOW_COUNT_CALLS` is set (the test stacks set it; a deployed stack never does). Each HTTP request
//! the SDK sends is one, retries included. An HTTP function answers the calls its handler made in the
//! `x-mcpflow-aws-calls` header (`DynamoDB.GetItem=1,SQS.SendMessage=1`), so a test can hold every route
//! to its count: a count is not a timing, and a regression fails CI.
//!
//! A Lambda execution environment runs one invocation at a time, so one counter per process is the
//! invocation's; a metrics timer's write (with `METRICS_FLUSH_SECS` above 0) counts in the invocation
//! it runs beside, which is why `make test` sets it to 0.
//!
//! Each counted call is also timed, from transmit to the end of its attempt (its response parsed), and
//! logged at `debug` under the target `mcpflow::aws_call` (`MCPFLOW_COUNT_CALLS=1` and
//! `RUST_LOG=warn,mcpflow::aws_call=debug`): `make bench` reports the waits beside a function's own
//! CPU time.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Instant;

use aws_sdk_dynamodb::config::interceptors::{BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

/// The response header that carries the count.
pub const HEADER: &str = "x-mcpflow-aws-calls";

static COUNTS: Mutex<BTreeMap<String, u32>> = Mutex::new(BTreeMap::new());

/// Whether calls are counted in this process.
pub fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os("MCPFLOW_COUNT_CALLS").is_some_and(|v| v == "1"))
}

/// Forgets what was counted (at the start of an invocation).
pub fn reset() {
    COUNTS.lock().unwrap_or_else(PoisonError::into_inner).clear();
}

/// What was counted since the last [`reset`], as `Service.Operation=n` joined by commas, in order.
#[must_use]
pub fn summary() -> String {
    let counts = COUNTS.lock().unwrap_or_else(PoisonError::into_inner);
    counts
        .iter()
        .map(|(op, n)| format!("{op}={n}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn count(operation: String) {
    *COUNTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(operation)
        .or_default() += 1;
}

/// When the attempt in flight was transmitted, and what it was.
#[derive(Debug, Clone)]
struct Transmitted {
    at: Instant,
    operation: String,
}

impl Storable for Transmitted {
    type Storer = StoreReplace<Self>;
}

/// The interceptor of one service's client: each request it transmits counts once.
#[derive(Debug)]
pub struct Counter(pub &'static str);

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "mcpflow-call-counter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // JSON-protocol services name the operation in `x-amz-target` (`DynamoDB_20120810.GetItem`).
        let target = context.request().headers().get("x-amz-target").unwrap_or("?.?");
        let operation = format!("{}.{}", self.0, target.rsplit('.').next().unwrap_or("?"));
        count(operation.clone());
        cfg.interceptor_state().store_put(Transmitted {
            at: Instant::now(),
            operation,
        });
        Ok(())
    }

    fn read_after_attempt(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(sent) = cfg.load::<Transmitted>() {
            let micros = u64::try_from(sent.at.elapsed().as_micros()).unwrap_or(u64::MAX);
            tracing::debug!(target: "mcpflow::aws_call", operation = %sent.operation, micros, "aws call");
        }
        // A retry that fails before it transmits must not log this attempt again.
        cfg.interceptor_state().unset::<Transmitted>();
        Ok(())
    }
}
