//! [`MetricsStore`] on DynamoDB: one item per tenant, series and bucket (the access-pattern table in
//! [`crate::dynamodb`]), counted with `UpdateItem ADD` so that concurrent invocations never lose a
//! count.

use aws_sdk_dynamodb::Client;
use futures::future::BoxFuture;

use super::{Counts, MetricsStore, Resolution, BUCKETS};
use crate::dynamodb::{n, number, s, sdk_error, table_keys, Item};

/// Metric buckets in the mcpflow table.
#[derive(Debug, Clone)]
pub struct DynamoDbMetrics {
    client: Client,
    table: String,
}

/// How long one metrics write may take: the request that writes it waits for it.
pub const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(1_000);

impl DynamoDbMetrics {
    #[must_use]
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    /// On a client of its own, made from `client`'s configuration, that never retries and gives up
    /// after [`WRITE_TIMEOUT`]: lost samples are better than a slow answer (a throttled write is
    /// not retried into the caller's latency).
    #[must_use]
    pub fn unretried(client: &Client, table: String) -> Self {
        Self::new(unretried_client(client), table)
    }

    async fn add_counts(&self, tenant: &str, resolution: Resolution, counts: &Counts) -> anyhow::Result<()> {
        let start = counts.start_ms;
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&table_keys::metrics_partition(tenant)))
            .key(
                "sk",
                s(&table_keys::metrics_sort(tag(resolution), start, &counts.series)),
            )
            .expression_attribute_values(":series", s(&counts.series))
            .expression_attribute_values(":start", n(start))
            .expression_attribute_values(":expires", n(start / 1000 + resolution.kept_secs()))
            .expression_attribute_values(":invocations", n(counts.invocations))
            .expression_attribute_values(":refused", n(counts.refused))
            .expression_attribute_values(":failed", n(counts.failed))
            .expression_attribute_values(":ms", n(counts.total_ms));
        let mut adds = String::from("invocations :invocations, refused :refused, failed :failed, total_ms :ms");
        for (bucket, &count) in counts.histogram.iter().enumerate().filter(|(_, &c)| c > 0) {
            adds.push_str(&format!(", #h{bucket} :h{bucket}"));
            update = update
                .expression_attribute_names(format!("#h{bucket}"), histogram_attribute(bucket))
                .expression_attribute_values(format!(":h{bucket}"), n(count));
        }
        update
            .update_expression(format!(
                "SET series = :series, start_ms = :start, expires_at = :expires ADD {adds}"
            ))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}

/// A client made from `client`'s configuration that never retries and gives up after
/// [`WRITE_TIMEOUT`], for best-effort writes a caller waits for (metrics, log events).
#[must_use]
pub fn unretried_client(client: &Client) -> Client {
    let timeouts = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .operation_timeout(WRITE_TIMEOUT)
        .build();
    let conf = client
        .config()
        .to_builder()
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .timeout_config(timeouts)
        .build();
    Client::from_conf(conf)
}

fn tag(resolution: Resolution) -> &'static str {
    match resolution {
        Resolution::Minute => "M",
        Resolution::Hour => "H",
    }
}

/// `h00`, `h01`, …: the attribute counting one histogram bucket.
fn histogram_attribute(bucket: usize) -> String {
    format!("h{bucket:02}")
}

fn counts(item: &Item) -> Option<Counts> {
    let count = |name: &str| number(item, name).and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
    Some(Counts {
        series: item.get("series")?.as_s().ok()?.clone(),
        start_ms: number(item, "start_ms")?,
        invocations: count("invocations"),
        refused: count("refused"),
        failed: count("failed"),
        total_ms: count("total_ms"),
        histogram: (0..BUCKETS).map(|b| count(&histogram_attribute(b))).collect(),
    })
}

impl MetricsStore for DynamoDbMetrics {
    fn add<'a>(
        &'a self,
        tenant: &'a str,
        resolution: Resolution,
        counts: &'a Counts,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.add_counts(tenant, resolution, counts))
    }

    fn read<'a>(
        &'a self,
        tenant: &'a str,
        resolution: Resolution,
        from_ms: i64,
        to_ms: i64,
    ) -> BoxFuture<'a, anyhow::Result<Vec<Counts>>> {
        Box::pin(async move {
            let tag = tag(resolution);
            let pages = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
                .expression_attribute_values(":pk", s(&table_keys::metrics_partition(tenant)))
                .expression_attribute_values(":low", s(&table_keys::metrics_bound(tag, from_ms)))
                .expression_attribute_values(":high", s(&table_keys::metrics_bound(tag, to_ms.saturating_add(1))))
                .into_paginator()
                .items()
                .send();
            let items: Vec<Item> = pages.collect::<Result<_, _>>().await.map_err(sdk_error)?;
            Ok(items.iter().filter_map(counts).collect())
        })
    }
}
