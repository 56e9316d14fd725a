//! The per-principal context quota. One item per authenticated principal (`TENANT#<tenant>` /
//! `QUOTA#<subject>`, the subject being an API key id or a JWT `sub`; a request's `user_id` plays no
//! part) holds the map `live` of context id → expiry and a `version`. Creating a context rewrites
//! that item in the same transaction as the context, conditional on the version it read, so
//! concurrent creates cannot both take the last slot. Expired entries are dropped on every rewrite: a
//! context removed by TTL frees its slot without a sweep.
//!
//! A context's META item records the sort key of the quota item that counts it (`quota_sk`), so
//! deleting the context frees the slot there. Contexts created while the quota was per `user_id`
//! were counted in `OWNER#<user id or subject>` items, named by their META's `quota_owner`; deleting
//! one frees its slot in that item, and such items stop mattering once their contexts expire.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use std::collections::HashMap;

use super::{fail, table_keys, DynamoDbContextStore, Item};
use crate::contexts::store::Quota;
use crate::conversation::store::StoreError;
use table_keys::quota_sort as quota_sk;

fn key(tenant: &str, sk: &str) -> Item {
    crate::dynamodb::key(&table_keys::tenant_partition(tenant), sk)
}

fn number(v: &AttributeValue) -> Option<i64> {
    v.as_n().ok()?.parse().ok()
}

impl DynamoDbContextStore {
    /// The quota item's write for a new context, or [`StoreError::LimitReached`] when the principal
    /// has `quota.max` live contexts.
    pub(super) async fn claim(
        &self,
        tenant: &str,
        context_id: &str,
        expires_at: i64,
        quota: &Quota,
    ) -> Result<TransactWriteItem, StoreError> {
        let read = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, &quota_sk(&quota.owner))));
        let out = read.consistent_read(true).send().await.map_err(fail)?;
        let version = out.item().and_then(|i| i.get("version")).and_then(number);
        let mut live: HashMap<String, AttributeValue> = out
            .item()
            .and_then(|i| i.get("live")?.as_m().ok().cloned())
            .unwrap_or_default();
        live.retain(|_, exp| number(exp).is_some_and(|e| e > quota.now));
        if live.len() >= quota.max {
            return Err(StoreError::LimitReached(quota.max));
        }
        live.insert(context_id.to_owned(), AttributeValue::N(expires_at.to_string()));
        let mut item = key(tenant, &quota_sk(&quota.owner));
        item.insert("live".into(), AttributeValue::M(live));
        item.insert(
            "version".into(),
            AttributeValue::N((version.unwrap_or(0) + 1).to_string()),
        );
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let put = match version {
            Some(v) => put
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
            None => put.condition_expression("attribute_not_exists(pk)"),
        };
        let put = put.build().map_err(|e| StoreError::Unknown(e.into()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Gives the context's slot back to the quota item `quota_sk` (when the context is deleted). A
    /// missing quota item is fine.
    pub(super) async fn release(&self, tenant: &str, quota_sk: &str, context_id: &str) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, quota_sk)));
        let update = update
            .update_expression("REMOVE #live.#id SET #v = #v + :one")
            .condition_expression("attribute_exists(#live)")
            .expression_attribute_names("#live", "live")
            .expression_attribute_names("#id", context_id)
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        match update.send().await {
            Ok(_) => Ok(()),
            Err(e) if crate::dynamodb::condition_failed(&e) => Ok(()),
            Err(e) => Err(fail(e)),
        }
    }
}
