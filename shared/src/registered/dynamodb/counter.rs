//! The per-tenant, per-kind count of registered items, kept exact under concurrent writes.
//!
//! Every registration and deletion is one `TransactWriteItems` of two items, in this order: the
//! registered item's write (a `Put` on condition `attribute_not_exists(sk)`, or a `Delete` on
//! `attribute_exists(sk)`), then the counter's `ADD` (`+1` on condition `item_count < 100`, `-1` on
//! condition `attribute_exists(item_count)`). A cancelled transaction lists one reason per item in
//! that order, so the first failed condition says what happened: the item's (the key is taken, or
//! there is nothing to delete) wins over the counter's (the limit). A conflict with another
//! transaction on the same counter is tried again.
//!
//! Items registered before the counters existed have no counter. Both counter conditions need it,
//! so the first write of such a tenant and kind fails on it; the counter is then created from a
//! strongly consistent count of the items (no registry write of that tenant and kind can succeed
//! while it is missing, so the count is exact) and the write is tried again.

use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Select, TransactWriteItem, Update};

use super::{fail, s, DynamoDbRegistry, Item};
use crate::registered::{Kind, RegistryError, MAX_PER_KIND};

/// The counter's number attribute.
pub(super) const COUNT: &str = "item_count";

/// Transactions tried before a write that keeps conflicting fails.
const ATTEMPTS: u64 = 8;

/// The counter item of a tenant's items of `kind`.
pub(super) fn counter_key(tenant: &str, kind: Kind) -> Item {
    Item::from([
        ("pk".to_owned(), s(&format!("TENANT#{tenant}"))),
        (
            "sk".to_owned(),
            s(&format!("REGCOUNT#{}", kind.prefix().trim_end_matches('#'))),
        ),
    ])
}

fn number(n: impl ToString) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

/// How a counted write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Written,
    /// The registered item's condition failed: its key is taken, or there is nothing to delete.
    ItemRefused,
    /// The counter's condition failed: the limit is reached.
    CounterRefused,
}

/// What a cancelled transaction's reasons (one code per item, in item order) mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cancelled {
    Item,
    Counter,
    /// Another transaction, or throttling: worth trying again.
    Retry,
    Other,
}

/// Reads the reasons in item order: the item's failed condition first, then the counter's.
pub(super) fn cancelled(codes: &[&str]) -> Cancelled {
    let failed = |i: usize| codes.get(i) == Some(&"ConditionalCheckFailed");
    let retry = [
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
    ];
    if failed(0) {
        Cancelled::Item
    } else if failed(1) {
        Cancelled::Counter
    } else if codes.iter().any(|c| retry.contains(c)) {
        Cancelled::Retry
    } else {
        Cancelled::Other
    }
}

/// What a failed transaction means; [`Cancelled::Other`] for anything but a cancellation.
fn verdict<R>(e: &SdkError<TransactWriteItemsError, R>) -> Cancelled {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
            let codes: Vec<&str> = c
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None"))
                .collect();
            cancelled(&codes)
        }
        _ => Cancelled::Other,
    }
}

impl DynamoDbRegistry {
    /// The counter's `ADD by`: on condition it stays within the limit when adding, that it exists
    /// when taking away.
    fn count_update(&self, tenant: &str, kind: Kind, by: i64) -> Result<TransactWriteItem, RegistryError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(counter_key(tenant, kind)))
            .update_expression("ADD #count :by")
            .expression_attribute_names("#count", COUNT)
            .expression_attribute_values(":by", number(by));
        let update = if by > 0 {
            update
                .condition_expression("#count < :limit")
                .expression_attribute_values(":limit", number(MAX_PER_KIND))
        } else {
            update.condition_expression("attribute_exists(#count)")
        };
        let update = update.build().map_err(|e| RegistryError::Unknown(e.into()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Writes `item` (the registered item's `Put` or `Delete`) and adds `by` to the counter, in
    /// one transaction, until it is written or a condition decides.
    pub(super) async fn write_counted(
        &self,
        tenant: &str,
        kind: Kind,
        item: TransactWriteItem,
        by: i64,
    ) -> Result<Outcome, RegistryError> {
        let writes = vec![item, self.count_update(tenant, kind, by)?];
        for attempt in 1..=ATTEMPTS {
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes.clone()));
            let Err(e) = sent.send().await else {
                return Ok(Outcome::Written);
            };
            match verdict(&e) {
                Cancelled::Item => return Ok(Outcome::ItemRefused),
                Cancelled::Counter if !self.seed(tenant, kind).await? => return Ok(Outcome::CounterRefused),
                // The counter was missing and now exists: try again at once.
                Cancelled::Counter => {}
                Cancelled::Retry => tokio::time::sleep(Duration::from_millis(attempt * 10)).await,
                Cancelled::Other => return Err(fail(e)),
            }
        }
        Err(RegistryError::Unknown(anyhow::anyhow!(
            "registry write kept conflicting with other transactions"
        )))
    }

    /// Creates the counter from the items when there is none; `false` when there already is one.
    async fn seed(&self, tenant: &str, kind: Kind) -> Result<bool, RegistryError> {
        let read = self.client.get_item().table_name(&self.table);
        let read = read.set_key(Some(counter_key(tenant, kind))).consistent_read(true);
        let out = read.send().await.map_err(fail)?;
        if out.item().is_some_and(|i| i.contains_key(COUNT)) {
            return Ok(false);
        }
        let count = self.count(tenant, kind).await?;
        let mut item = counter_key(tenant, kind);
        item.insert(COUNT.to_owned(), number(count));
        let put = self.client.put_item().table_name(&self.table).set_item(Some(item));
        match put.condition_expression("attribute_not_exists(sk)").send().await {
            Ok(_) => tracing::info!(%tenant, ?kind, count, "registry counter created from the items"),
            // Another write created it first: as good.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
            Err(e) => return Err(fail(e)),
        }
        Ok(true)
    }

    /// The tenant's items of `kind`, counted over every page with strongly consistent reads.
    async fn count(&self, tenant: &str, kind: Kind) -> Result<usize, RegistryError> {
        let query = self.of_kind(tenant, kind).select(Select::Count).consistent_read(true);
        let mut pages = query.into_paginator().send();
        let mut total = 0;
        while let Some(page) = pages.next().await {
            total += usize::try_from(page.map_err(fail)?.count()).unwrap_or(0);
        }
        Ok(total)
    }
}
