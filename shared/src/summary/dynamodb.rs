//! [`CountStore`] on DynamoDB: every counter item of the tenant partition in one `BatchGetItem`
//! (`STATS#0`–`STATS#7`, `REGCOUNT#TOOL|PROMPT|RESOURCE`, `PIPECOUNT`), and the unexpired contexts'
//! listing entries counted by a `Select: COUNT` query, both at once.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{KeysAndAttributes, Select};
use aws_sdk_dynamodb::Client;

use super::{CountStore, Counts};
use crate::dynamodb::{key, number, s, sdk_error, table_keys, Item};
use crate::registered::Kind;
use crate::tasks::dynamodb::stats::SHARDS;

/// Counts in the mcpflow table.
#[derive(Debug, Clone)]
pub struct DynamoDbCounts {
    client: Client,
    table: String,
}

impl DynamoDbCounts {
    #[must_use]
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    async fn counters(&self, tenant: &str) -> anyhow::Result<Vec<Item>> {
        let pk = table_keys::tenant_partition(tenant);
        let mut keys: Vec<Item> = (0..SHARDS).map(|i| key(&pk, &table_keys::task_stats_sort(i))).collect();
        for kind in [Kind::Tool, Kind::Prompt, Kind::Resource] {
            keys.push(key(&pk, &table_keys::registered_count_sort(kind.prefix())));
        }
        keys.push(key(&pk, table_keys::PIPELINE_COUNT));
        keys.push(key(&pk, table_keys::INTEGRATION_COUNT));
        let mut asked = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()?;
        let mut items = Vec::new();
        // A batch may leave keys unprocessed (throttling): asked again until none are left.
        for _ in 0..5 {
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, asked.clone())
                .send()
                .await
                .map_err(sdk_error)?;
            if let Some(got) = out.responses().and_then(|r| r.get(&self.table)) {
                items.extend(got.iter().cloned());
            }
            match out.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                Some(left) if !left.keys().is_empty() => asked = left.clone(),
                _ => return Ok(items),
            }
        }
        anyhow::bail!("the counters stayed unprocessed after 5 batches")
    }

    async fn contexts(&self, tenant: &str, now_secs: i64) -> anyhow::Result<u64> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .filter_expression("expires_at > :now")
            .expression_attribute_values(":pk", s(&table_keys::tenant_partition(tenant)))
            .expression_attribute_values(":p", s(&table_keys::prefix(&["CONTEXT"])))
            .expression_attribute_values(":now", crate::dynamodb::n(now_secs))
            .select(Select::Count);
        let mut pages = query.into_paginator().send();
        let mut count = 0;
        while let Some(page) = pages.next().await {
            count += u64::try_from(page.map_err(sdk_error)?.count()).unwrap_or(0);
        }
        Ok(count)
    }
}

/// The counts the counter items hold.
fn read(items: &[Item]) -> Counts {
    let mut counts = Counts::default();
    let whole = |item: &Item, attribute: &str| number(item, attribute).and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    for item in items {
        let sk = item.get("sk").and_then(|v| v.as_s().ok()).map_or("", String::as_str);
        match sk.split('#').next().unwrap_or_default() {
            "STATS" => {
                let numbers: HashMap<&String, i64> = item
                    .iter()
                    .filter(|(k, _)| k.as_str() != "pk" && k.as_str() != "sk")
                    .filter_map(|(k, v)| Some((k, v.as_n().ok()?.parse().ok()?)))
                    .collect();
                for (k, v) in numbers {
                    *counts.tasks.entry(k.clone()).or_default() += v;
                }
            }
            "REGCOUNT" => {
                let n = whole(item, crate::registered::dynamodb::COUNT_ATTRIBUTE);
                match sk.rsplit('#').next() {
                    Some("TOOL") => counts.tools = n,
                    Some("PROMPT") => counts.prompts = n,
                    Some("RESOURCE") => counts.resources = n,
                    _ => {}
                }
            }
            _ if sk == table_keys::PIPELINE_COUNT => {
                counts.pipelines = whole(item, crate::pipelines::dynamodb::COUNT_ATTRIBUTE)
            }
            _ if sk == table_keys::INTEGRATION_COUNT => {
                counts.integrations = whole(item, crate::integrations::dynamodb::COUNT_ATTRIBUTE)
            }
            _ => {}
        }
    }
    counts
}

impl CountStore for DynamoDbCounts {
    #[tracing::instrument(skip(self))]
    async fn counts(&self, tenant: &str, now_secs: i64) -> anyhow::Result<Counts> {
        let (items, contexts) = tokio::join!(self.counters(tenant), self.contexts(tenant, now_secs));
        let mut counts = read(&items?);
        counts.contexts = contexts?;
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::AttributeValue;

    use super::*;

    fn item(sk: &str, attrs: &[(&str, i64)]) -> Item {
        let mut item = key("TENANT#t", sk);
        for (k, v) in attrs {
            item.insert((*k).to_owned(), AttributeValue::N(v.to_string()));
        }
        item
    }

    #[test]
    fn counters_of_every_kind_are_read_and_task_shards_summed() {
        let items = [
            item("STATS#0", &[("created", 2), ("completed", 1)]),
            item("STATS#5", &[("created", 3), ("started", 3)]),
            item("REGCOUNT#TOOL", &[("item_count", 4)]),
            item("REGCOUNT#RESOURCE", &[("item_count", 1)]),
            item("PIPECOUNT", &[("pipeline_count", 7)]),
            item("INTEGCOUNT", &[("integration_count", 2)]),
        ];
        let counts = read(&items);
        assert_eq!(counts.tasks.get("created"), Some(&5));
        assert_eq!(counts.tasks.get("started"), Some(&3));
        assert_eq!(
            (
                counts.tools,
                counts.prompts,
                counts.resources,
                counts.pipelines,
                counts.integrations
            ),
            (4, 0, 1, 7, 2)
        );
    }
}
