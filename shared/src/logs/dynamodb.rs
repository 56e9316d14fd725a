//! [`LogStore`] on DynamoDB: one item per event in the tenant's `LOG#<tenant>` partition, sorted by
//! its id (time first), so a page is one backwards `Query` between two times, filtered by level and
//! kind; `expires_at` lets DynamoDB's TTL remove it.

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use futures::future::BoxFuture;

use super::{Filter, LogEvent, LogStore, Page, RETENTION_DAYS};
use crate::dynamodb::pages::backwards;
use crate::dynamodb::{key, n, s, sdk_error, table_keys, Item};

/// Items of one `BatchWriteItem` at most (DynamoDB's limit).
const BATCH: usize = 25;
/// Times a batch's unprocessed items are sent again.
const RESENDS: usize = 3;

/// Events in the mcpflow table.
#[derive(Debug, Clone)]
pub struct DynamoDbLogs {
    client: Client,
    table: String,
}

impl DynamoDbLogs {
    #[must_use]
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    async fn write(&self, events: &[LogEvent]) -> anyhow::Result<()> {
        for chunk in events.chunks(BATCH) {
            let mut requests = chunk
                .iter()
                .map(|event| {
                    let put = PutRequest::builder().set_item(Some(to_item(event)?)).build()?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            for _ in 0..RESENDS {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                requests = out
                    .unprocessed_items()
                    .and_then(|u| u.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
            }
            if !requests.is_empty() {
                anyhow::bail!("{} events left unprocessed", requests.len());
            }
        }
        Ok(())
    }
}

fn sort_key(event_id: &str) -> String {
    table_keys::join(&[event_id])
}

fn to_item(event: &LogEvent) -> anyhow::Result<Item> {
    let mut item = key(&table_keys::log_partition(&event.tenant), &sort_key(&event.event_id));
    item.insert("doc".into(), s(&serde_json::to_string(event)?));
    item.insert("level".into(), s(event.level.as_str()));
    item.insert("kind".into(), s(event.kind.as_str()));
    item.insert("at_ms".into(), n(event.at_ms));
    item.insert("expires_at".into(), n(event.at_ms / 1000 + RETENTION_DAYS * 86_400));
    Ok(item)
}

fn from_item(tenant: &str, item: &Item) -> anyhow::Result<LogEvent> {
    let doc = item
        .get("doc")
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| anyhow::anyhow!("log event without doc"))?;
    let mut event: LogEvent = serde_json::from_str(doc)?;
    tenant.clone_into(&mut event.tenant);
    event.at_ms = crate::dynamodb::number(item, "at_ms").unwrap_or_default();
    Ok(event)
}

impl LogStore for DynamoDbLogs {
    fn put<'a>(&'a self, events: &'a [LogEvent]) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.write(events))
    }

    #[tracing::instrument(skip(self))]
    async fn page(&self, tenant: &str, filter: &Filter) -> anyhow::Result<Page> {
        let now_secs = chrono::Utc::now().timestamp();
        let low = format!("{:015}", filter.since_ms.unwrap_or(0).max(0));
        // Every id of the last millisecond sorts below `<ms>.` ('.' follows '-').
        let high = format!("{:015}.", filter.until_ms.unwrap_or(999_999_999_999_999).max(0));
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", s(&table_keys::log_partition(tenant)))
            .expression_attribute_values(":low", s(&low))
            .expression_attribute_values(":high", s(&high))
            .expression_attribute_values(":now", n(now_secs))
            .scan_index_forward(false);
        let mut conditions = vec!["expires_at > :now".to_owned()];
        if let Some(level) = filter.level {
            let levels: Vec<String> = [super::Level::Info, super::Level::Warn, super::Level::Error]
                .into_iter()
                .filter(|l| *l >= level)
                .enumerate()
                .map(|(i, l)| {
                    query = query
                        .clone()
                        .expression_attribute_values(format!(":l{i}"), s(l.as_str()));
                    format!(":l{i}")
                })
                .collect();
            conditions.push(format!("#level IN ({})", levels.join(", ")));
            query = query.expression_attribute_names("#level", "level");
        }
        if let Some(kind) = filter.kind {
            conditions.push("#kind = :kind".to_owned());
            query = query
                .expression_attribute_names("#kind", "kind")
                .expression_attribute_values(":kind", s(kind.as_str()));
        }
        let query = query.filter_expression(conditions.join(" AND "));
        let start = filter
            .after
            .as_deref()
            .map(|after| key(&table_keys::log_partition(tenant), &sort_key(after)));
        let (events, next_cursor) = backwards(query, start, filter.limit, |item| {
            let event = from_item(tenant, item)?;
            Ok::<_, anyhow::Error>(Some((event.event_id.clone(), event)))
        })
        .await?;
        Ok(Page { events, next_cursor })
    }
}
