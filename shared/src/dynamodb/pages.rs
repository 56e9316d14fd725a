//! Newest-first pages of a partition: a backwards `Query`, read page by page until one more item
//! than asked is kept (so a page says whether another follows), with the id of the last item as the
//! cursor. Ids are time-sortable, so backwards is newest first.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::Client;

use super::{key, s, table_keys, Item};

/// The tenant partition's items whose sort keys start `<kind>#`, newest first.
#[must_use]
pub fn partition_query(client: &Client, table: &str, tenant: &str, kind: &str) -> QueryFluentBuilder {
    client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
        .expression_attribute_values(":pk", s(&table_keys::tenant_partition(tenant)))
        .expression_attribute_values(":p", s(&table_keys::prefix(&[kind])))
        .scan_index_forward(false)
}

/// Every item of the tenant partition whose sort key starts `<kind>#`, oldest first, read
/// consistently (for small kinds with a per-tenant limit: agents, pipelines).
///
/// # Errors
/// A failed page.
pub async fn all_of_kind(client: &Client, table: &str, tenant: &str, kind: &str) -> anyhow::Result<Vec<Item>> {
    let query = partition_query(client, table, tenant, kind)
        .scan_index_forward(true)
        .consistent_read(true);
    let pages = query.into_paginator().items().send();
    pages.collect::<Result<_, _>>().await.map_err(super::sdk_error)
}

/// The table key of the tenant's item `<kind>#<id>`, where a page after that item starts.
#[must_use]
pub fn start_after(tenant: &str, kind: &str, id: &str) -> Item {
    key(&table_keys::tenant_partition(tenant), &table_keys::join(&[kind, id]))
}

/// Runs `query` (newest first) from after `start`, page by page, keeping what `keep` accepts (with
/// its cursor) until `limit + 1` are kept; returns `limit` of them, and the cursor of the last when
/// more follow.
///
/// # Errors
/// A failed `Query`, or what `keep` returns.
pub async fn backwards<T, E: From<anyhow::Error>>(
    query: QueryFluentBuilder,
    mut start: Option<Item>,
    limit: usize,
    keep: impl Fn(&Item) -> Result<Option<(String, T)>, E>,
) -> Result<(Vec<T>, Option<String>), E> {
    let mut kept: Vec<(String, T)> = Vec::new();
    loop {
        let out = query.clone().set_exclusive_start_key(start).send().await;
        let out = out.map_err(|e| E::from(super::sdk_error(e)))?;
        for item in out.items() {
            if let Some(found) = keep(item)? {
                kept.push(found);
            }
        }
        start = out.last_evaluated_key().cloned();
        if kept.len() > limit || start.is_none() {
            break;
        }
    }
    let more = kept.len() > limit;
    kept.truncate(limit);
    let last = kept.last().filter(|_| more).map(|(id, _)| id.clone());
    Ok((kept.into_iter().map(|(_, t)| t).collect(), last))
}
