//! `TransactWriteItems` with the retry every counted write needs: a transaction cancelled by another
//! one on the same item (a tenant's counters) or by throttling is sent again after a short, growing
//! pause; one cancelled by a failed condition is the answer, naming the first item whose condition
//! failed.

use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use aws_sdk_dynamodb::Client;

/// Times a transaction is sent before contention is an error.
pub const ATTEMPTS: u64 = 8;

/// Reasons that are worth sending the same transaction again.
pub(crate) const TRANSIENT: [&str; 3] = [
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
];

/// How a transaction ended, short of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transacted {
    Written,
    /// Nothing was written: the condition of the item at this index (in the order sent) failed.
    Refused {
        item: usize,
    },
}

/// The reasons a cancelled transaction gives, one per item in the order sent (`None` where an item
/// had no problem); `None` for any other failure.
pub(crate) fn reasons<R>(e: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<Option<String>>> {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => Some(
            c.cancellation_reasons()
                .iter()
                .map(|r| r.code().filter(|c| *c != "None").map(str::to_owned))
                .collect(),
        ),
        _ => None,
    }
}

/// What a cancellation means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// The first item (in the order sent) whose condition failed; it decides over any later one.
    Refused(usize),
    /// Another transaction or throttling: worth sending again.
    Retry,
    Other,
}

fn verdict(reasons: &[Option<String>]) -> Verdict {
    let failed = reasons
        .iter()
        .position(|r| r.as_deref() == Some("ConditionalCheckFailed"));
    match failed {
        Some(item) => Verdict::Refused(item),
        None if reasons.iter().flatten().any(|r| TRANSIENT.contains(&r.as_str())) => Verdict::Retry,
        None => Verdict::Other,
    }
}

/// Sends `writes` as one transaction until it is written or refused by a condition.
///
/// # Errors
/// Any failure other than contention, or contention that outlasts [`ATTEMPTS`] sends.
pub async fn transact(client: &Client, writes: Vec<TransactWriteItem>) -> anyhow::Result<Transacted> {
    for attempt in 1..=ATTEMPTS {
        let sent = client.transact_write_items().set_transact_items(Some(writes.clone()));
        let Err(e) = sent.send().await else {
            return Ok(Transacted::Written);
        };
        let Some(reasons) = reasons(&e) else {
            return Err(super::sdk_error(e));
        };
        match verdict(&reasons) {
            Verdict::Refused(item) => return Ok(Transacted::Refused { item }),
            Verdict::Retry if attempt < ATTEMPTS => tokio::time::sleep(contention_backoff(attempt)).await,
            Verdict::Retry => {}
            Verdict::Other => return Err(super::sdk_error(e).context(format!("reasons {reasons:?}"))),
        }
    }
    // Not the caller's fault and not for ever: answered 503 with Retry-After.
    Err(anyhow::Error::new(crate::error::Unavailable {
        detail: format!("the transaction kept conflicting with other transactions ({ATTEMPTS} tries)"),
    }))
}

/// The wait before trying a write that met a concurrent one again: full jitter over an exponential
/// ceiling (20 ms after the first try, 40 ms, … up to 320 ms), so contenders spread out instead of
/// meeting again.
#[must_use]
pub fn contention_backoff(attempt: u64) -> Duration {
    let ceiling = 10.0 * f64::from(1u32 << attempt.min(5));
    Duration::from_secs_f64(ceiling * crate::providers::retry::unit_random() / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(c: &[&str]) -> Vec<Option<String>> {
        c.iter().map(|c| (*c != "None").then(|| (*c).to_owned())).collect()
    }

    #[test]
    fn the_first_failed_condition_decides_before_later_ones_and_contention_is_retried() {
        let cases = [
            (
                vec!["ConditionalCheckFailed", "ConditionalCheckFailed"],
                Verdict::Refused(0),
            ),
            (vec!["ConditionalCheckFailed", "None"], Verdict::Refused(0)),
            (vec!["None", "ConditionalCheckFailed"], Verdict::Refused(1)),
            (vec!["None", "TransactionConflict"], Verdict::Retry),
            (vec!["ThrottlingError", "None"], Verdict::Retry),
            (vec!["ValidationError", "None"], Verdict::Other),
            (vec![], Verdict::Other),
        ];
        for (c, meaning) in cases {
            assert_eq!(verdict(&codes(&c)), meaning, "{c:?}");
        }
    }
}
