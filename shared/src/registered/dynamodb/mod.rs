//! [`RegistryStore`] on DynamoDB: `TENANT#<tenant>` / `<KIND>#<key>`, the document in `doc`, and
//! per tenant and kind a counter item (`TENANT#<tenant>` / `REGCOUNT#<KIND>`, number `item_count`)
//! that registrations and deletions update in the same transaction as the item (`counter.rs`).

mod counter;

/// The counter item's number attribute (read by the tenant summary).
pub(crate) use counter::COUNT as COUNT_ATTRIBUTE;

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use serde_json::Value;

use crate::dynamodb::{s, sdk_error, table_keys, Item};
use crate::registered::store::RegistryStore;
use crate::registered::{Kind, RegistryError};
use counter::Outcome;

/// Registered tools, prompts and resources in the mcpflow table.
#[derive(Debug, Clone)]
pub struct DynamoDbRegistry {
    client: Client,
    table: String,
}

impl DynamoDbRegistry {
    #[must_use]
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

/// `TENANT#<tenant>` / `<KIND>#<key>`, the name or URI escaped as one component (a URI may hold `#`
/// and `%`).
fn key(tenant: &str, kind: Kind, k: &str) -> Item {
    crate::dynamodb::key(
        &table_keys::tenant_partition(tenant),
        &table_keys::registered_sort(kind.prefix(), k),
    )
}

fn fail<E: std::error::Error + crate::dynamodb::Reachability + Send + Sync + 'static>(e: E) -> RegistryError {
    RegistryError::Unknown(sdk_error(e))
}

fn doc(item: &Item) -> Result<Value, RegistryError> {
    let text = item
        .get("doc")
        .and_then(|v| v.as_s().ok())
        .map_or("null", String::as_str);
    serde_json::from_str(text).map_err(|e| RegistryError::Unknown(e.into()))
}

impl DynamoDbRegistry {
    /// A query of the tenant's items of `kind`.
    fn of_kind(&self, tenant: &str, kind: Kind) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let query = self.client.query().table_name(&self.table);
        query
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .expression_attribute_values(":pk", s(&table_keys::tenant_partition(tenant)))
            .expression_attribute_values(":p", s(&table_keys::prefix(&[kind.prefix()])))
    }
}

impl RegistryStore for DynamoDbRegistry {
    /// One transaction: the item's `Put` if its key is free, and the counter's `ADD 1` if below the
    /// limit.
    #[tracing::instrument(skip(self, value))]
    async fn put(&self, tenant: &str, kind: Kind, k: &str, value: &Value) -> Result<(), RegistryError> {
        let mut item = key(tenant, kind, k);
        item.insert("doc".into(), s(&value.to_string()));
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let put = put.condition_expression("attribute_not_exists(sk)").build();
        let put = TransactWriteItem::builder()
            .put(put.map_err(|e| RegistryError::Unknown(e.into()))?)
            .build();
        match self.write_counted(tenant, kind, put, 1).await? {
            Outcome::Written => Ok(()),
            Outcome::ItemRefused => Err(RegistryError::Exists {
                kind,
                key: k.to_owned(),
            }),
            Outcome::CounterRefused => Err(RegistryError::LimitReached),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn get(&self, tenant: &str, kind: Kind, k: &str) -> Result<Option<Value>, RegistryError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, kind, k)));
        let out = got.consistent_read(true).send().await.map_err(fail)?;
        out.item().map(doc).transpose()
    }

    /// Read consistently: a list read after its version must hold every write that version counts
    /// (a cached list would otherwise keep an older one under the newer version).
    #[tracing::instrument(skip(self))]
    async fn list(&self, tenant: &str, kind: Kind) -> Result<Vec<Value>, RegistryError> {
        let pages = self
            .of_kind(tenant, kind)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        let items: Vec<_> = pages.collect::<Result<_, _>>().await.map_err(fail)?;
        items.iter().map(doc).collect()
    }

    /// One transaction: the item's `Put` if it exists, and the counter's version `ADD 1` (its count
    /// unchanged).
    #[tracing::instrument(skip(self, value))]
    async fn replace(&self, tenant: &str, kind: Kind, k: &str, value: &Value) -> Result<bool, RegistryError> {
        let mut item = key(tenant, kind, k);
        item.insert("doc".into(), s(&value.to_string()));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_exists(sk)")
            .build();
        let put = TransactWriteItem::builder()
            .put(put.map_err(|e| RegistryError::Unknown(e.into()))?)
            .build();
        match self.write_counted(tenant, kind, put, 0).await? {
            Outcome::Written => Ok(true),
            Outcome::ItemRefused => Ok(false),
            Outcome::CounterRefused => Err(RegistryError::Unknown(anyhow::anyhow!(
                "the registry counter of {tenant} is missing under an item"
            ))),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn version(&self, tenant: &str, kind: Kind) -> Result<u64, RegistryError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(counter::counter_key(tenant, kind)))
            .projection_expression("#v")
            .expression_attribute_names("#v", counter::VERSION)
            .consistent_read(true)
            .send()
            .await
            .map_err(fail)?;
        Ok(got
            .item()
            .and_then(|i| crate::dynamodb::number(i, counter::VERSION))
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(0))
    }

    /// One transaction: the item's `Delete` if it exists, and the counter's `ADD -1`.
    #[tracing::instrument(skip(self))]
    async fn delete(&self, tenant: &str, kind: Kind, k: &str) -> Result<bool, RegistryError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(tenant, kind, k)));
        let delete = delete.condition_expression("attribute_exists(sk)").build();
        let delete = TransactWriteItem::builder()
            .delete(delete.map_err(|e| RegistryError::Unknown(e.into()))?)
            .build();
        match self.write_counted(tenant, kind, delete, -1).await? {
            Outcome::Written => Ok(true),
            Outcome::ItemRefused => Ok(false),
            Outcome::CounterRefused => Err(RegistryError::Unknown(anyhow::anyhow!(
                "the registry counter of {tenant} refused a deletion"
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
