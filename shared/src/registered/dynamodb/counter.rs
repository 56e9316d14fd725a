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

use aws_sdk_dynamodb::types::{Select, TransactWriteItem, Update};

use super::{fail, DynamoDbRegistry, Item};
use crate::dynamodb::transactions::{transact, Transacted};
use crate::dynamodb::{n as number, table_keys};
use crate::registered::{Kind, RegistryError, MAX_PER_KIND};

/// The counter's number attribute.
pub(crate) const COUNT: &str = "item_count";

/// The counter item's version: one more on every register, replace and delete of the kind, so a
/// cached list is known fresh by reading this one number.
pub(crate) const VERSION: &str = "version";

/// The counter item of a tenant's items of `kind`.
pub(super) fn counter_key(tenant: &str, kind: Kind) -> Item {
    let pk = table_keys::tenant_partition(tenant);
    crate::dynamodb::key(&pk, &table_keys::registered_count_sort(kind.prefix()))
}

/// How a counted write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Written,
    /// The item's condition failed: its key is taken, or there is nothing to delete.
    ItemRefused,
    /// The counter's condition failed: the limit is reached.
    CounterRefused,
}

impl DynamoDbRegistry {
    /// The counter's `ADD by` and its version's `ADD 1`: on condition it stays within the limit when
    /// adding, that it exists when taking away or replacing (`by` 0).
    fn count_update(&self, tenant: &str, kind: Kind, by: i64) -> Result<TransactWriteItem, RegistryError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(counter_key(tenant, kind)))
            .update_expression("ADD #count :by, #version :one")
            .expression_attribute_names("#count", COUNT)
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":by", number(by))
            .expression_attribute_values(":one", number(1));
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
        // At most twice: a counter found missing is created from the items, then the write is sent again.
        for _ in 0..2 {
            match transact(&self.client, writes.clone())
                .await
                .map_err(RegistryError::Unknown)?
            {
                Transacted::Written => return Ok(Outcome::Written),
                Transacted::Refused { item: 0 } => return Ok(Outcome::ItemRefused),
                Transacted::Refused { .. } if !self.seed(tenant, kind).await? => return Ok(Outcome::CounterRefused),
                Transacted::Refused { .. } => {}
            }
        }
        Err(RegistryError::Unknown(anyhow::anyhow!(
            "the registry counter of {tenant} was created but the write still failed on it"
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
            Err(e) if crate::dynamodb::condition_failed(&e) => {}
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
