//! The tenant's task counters (`TENANT#<tenant>` / `STATS`), one number attribute per counter, added
//! to with `ADD` in the same transaction as a task's creation or finish, and right after a start or a
//! cancellation (those are conditional updates whose old or new image decides what to count).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::builders::PutBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::dynamodb_tasks::DynamoDbTaskStore;
use super::store_error as fail;
use crate::conversation::stats::{Counters, TaskStats};
use crate::conversation::store::StoreError;

type Item = HashMap<String, AttributeValue>;

fn key(tenant: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(format!("TENANT#{tenant}"))),
        ("sk".to_owned(), AttributeValue::S("STATS".into())),
    ])
}

/// The reasons a cancelled transaction gives, one per item; `None` for any other failure.
fn cancellation_codes<R>(e: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>) -> Option<Vec<String>> {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => Some(
            c.cancellation_reasons()
                .iter()
                .filter_map(|r| r.code().map(str::to_owned))
                .collect(),
        ),
        _ => None,
    }
}

impl DynamoDbTaskStore {
    /// The `ADD` of `adds` to the tenant's counters, as a transaction item.
    pub(crate) fn stats_update(&self, tenant: &str, adds: &[(String, i64)]) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder().table_name(self.table()).set_key(Some(key(tenant)));
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

    /// Adds to the counters on its own (after a conditional update that already took).
    pub(crate) async fn bump(&self, tenant: &str, adds: &[(String, i64)]) {
        let Ok(item) = self.stats_update(tenant, adds) else {
            return;
        };
        let Some(update) = item.update else {
            return;
        };
        let mut call = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(update.key));
        call = call
            .update_expression(update.update_expression)
            .set_expression_attribute_names(update.expression_attribute_names)
            .set_expression_attribute_values(update.expression_attribute_values);
        if let Err(e) = call.send().await {
            tracing::warn!(error = %super::sdk_error(e), %tenant, "task counters not updated");
        }
    }

    /// Writes `item` (a task) under `condition`, with the counters' `adds`, in one transaction.
    /// `false` when the condition failed.
    pub(crate) async fn put_counted(
        &self,
        item: Item,
        condition: PutBuilder,
        tenant: &str,
        adds: &[(String, i64)],
    ) -> Result<bool, StoreError> {
        let put = condition.table_name(self.table()).set_item(Some(item)).build();
        let writes = vec![
            TransactWriteItem::builder()
                .put(put.map_err(|e| StoreError::Unknown(e.into()))?)
                .build(),
            self.stats_update(tenant, adds)?,
        ];
        // Concurrent transitions of the tenant's tasks all add to one counters item: a transaction
        // that met another one is tried again; a failed condition is the answer.
        for attempt in 1..=8_u64 {
            let sent = self
                .client()
                .transact_write_items()
                .set_transact_items(Some(writes.clone()))
                .send()
                .await;
            let Err(e) = sent else {
                return Ok(true);
            };
            let Some(codes) = cancellation_codes(&e) else {
                return Err(fail(e));
            };
            if codes.iter().any(|c| c == "ConditionalCheckFailed") {
                return Ok(false);
            }
            tokio::time::sleep(std::time::Duration::from_millis(attempt * 10)).await;
        }
        Err(StoreError::Unknown(anyhow::anyhow!(
            "task write kept conflicting with other transactions"
        )))
    }
}

impl TaskStats for DynamoDbTaskStore {
    #[tracing::instrument(skip(self))]
    async fn stats(&self, tenant: &str) -> Result<Counters, StoreError> {
        let got = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(key(tenant)));
        let out = got.send().await.map_err(fail)?;
        Ok(out
            .item()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.as_str() != "pk" && k.as_str() != "sk")
            .filter_map(|(k, v)| Some((k.clone(), v.as_n().ok()?.parse().ok()?)))
            .collect())
    }
}
