//! The tenant's task counters, one number attribute per counter, in [`SHARDS`] items
//! (`TENANT#<tenant>` / `STATS#<n>`, a task always counting in the shard its id picks) so concurrent
//! transitions rarely meet on one item. They are added to with `ADD` in the same transaction as a
//! task's creation or finish, and right after a start or a cancellation (conditional updates whose
//! old or new image decides what to count). Reading sums the shards with one query.

use aws_sdk_dynamodb::types::builders::PutBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::DynamoDbTaskStore;
use crate::conversation::store::StoreError;
use crate::dynamodb::store_error as fail;
use crate::dynamodb::transactions::{transact, Transacted};
use crate::dynamodb::{table_keys, Item};
use crate::tasks::stats::{Counters, TaskStats};

/// Counter items per tenant.
pub const SHARDS: u32 = 8;

fn key(tenant: &str, task_id: &str) -> Item {
    let shard = table_keys::shard_of(task_id, SHARDS);
    crate::dynamodb::key(
        &table_keys::tenant_partition(tenant),
        &table_keys::task_stats_sort(shard),
    )
}

impl DynamoDbTaskStore {
    /// The `ADD` of `adds` to the tenant's counters, as a transaction item.
    pub(crate) fn stats_update(
        &self,
        tenant: &str,
        task_id: &str,
        adds: &[(String, i64)],
    ) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder()
            .table_name(self.table())
            .set_key(Some(key(tenant, task_id)));
        let mut parts = Vec::new();
        for (i, (name, by)) in adds.iter().enumerate() {
            parts.push(format!("#c{i} :c{i}"));
            update = update
                .expression_attribute_names(format!("#c{i}"), name)
                .expression_attribute_values(format!(":c{i}"), AttributeValue::N(by.to_string()));
        }
        let update = update.update_expression(format!("ADD {}", parts.join(", "))).build();
        Ok(TransactWriteItem::builder()
            .update(update.map_err(|e| StoreError::Unknown(e.into()))?)
            .build())
    }

    /// Adds to the counters on its own (after a conditional update that already took). A counters
    /// item in a running transaction refuses the update (`TransactionConflictException`: nothing
    /// added, so trying again cannot count twice): it is tried again, up to [`BUMP_ATTEMPTS`] times.
    pub(crate) async fn bump(&self, tenant: &str, task_id: &str, adds: &[(String, i64)]) {
        let Ok(item) = self.stats_update(tenant, task_id, adds) else {
            return;
        };
        let Some(update) = item.update else {
            return;
        };
        let call = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(update.key))
            .update_expression(update.update_expression)
            .set_expression_attribute_names(update.expression_attribute_names)
            .set_expression_attribute_values(update.expression_attribute_values);
        for attempt in 1..=BUMP_ATTEMPTS {
            match call.clone().send().await {
                Ok(_) => return,
                Err(e) if attempt < BUMP_ATTEMPTS && conflicted(&e) => {
                    tokio::time::sleep(crate::dynamodb::transactions::contention_backoff(attempt)).await;
                }
                Err(e) => {
                    tracing::warn!(error = %crate::dynamodb::sdk_error(e), %tenant, "task counters not updated");
                    return;
                }
            }
        }
    }

    /// Puts the task item under `condition`, adds `adds` to the tenant's counters and writes `with`,
    /// in one transaction; `false` when a condition failed (nothing written).
    pub(crate) async fn put_counted(
        &self,
        item: Item,
        condition: PutBuilder,
        (tenant, task_id): (&str, &str),
        adds: &[(String, i64)],
        with: Vec<TransactWriteItem>,
    ) -> Result<bool, StoreError> {
        let put = condition.table_name(self.table()).set_item(Some(item)).build();
        let mut writes = vec![
            TransactWriteItem::builder()
                .put(put.map_err(|e| StoreError::Unknown(e.into()))?)
                .build(),
            self.stats_update(tenant, task_id, adds)?,
        ];
        writes.extend(with);
        // Concurrent transitions of the tenant's tasks all add to one counters item: a transaction
        // that met another one is tried again; a failed condition is the answer.
        match transact(self.client(), writes).await? {
            Transacted::Written => Ok(true),
            Transacted::Refused { .. } => Ok(false),
        }
    }
}

impl TaskStats for DynamoDbTaskStore {
    #[tracing::instrument(skip(self))]
    async fn stats(&self, tenant: &str) -> Result<Counters, StoreError> {
        let query = self.client().query().table_name(self.table()).consistent_read(true);
        let query = query
            .key_condition_expression("pk = :pk AND begins_with(sk, :stats)")
            .expression_attribute_values(":pk", AttributeValue::S(table_keys::tenant_partition(tenant)))
            .expression_attribute_values(":stats", AttributeValue::S(table_keys::prefix(&["STATS"])));
        let out = query.send().await.map_err(fail)?;
        let mut counters = Counters::new();
        for item in out.items() {
            for (k, v) in item.iter().filter(|(k, _)| k.as_str() != "pk" && k.as_str() != "sk") {
                *counters.entry(k.clone()).or_default() +=
                    v.as_n().ok().and_then(|n| n.parse::<i64>().ok()).unwrap_or(0);
            }
        }
        Ok(counters)
    }
}

/// Tries of a counters update that meets a transaction on its item.
const BUMP_ATTEMPTS: u64 = 5;

/// Whether DynamoDB refused the update because a transaction held its item.
fn conflicted<R>(
    e: &aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, R>,
) -> bool {
    matches!(
        e.as_service_error(),
        Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::TransactionConflictException(_))
    )
}
