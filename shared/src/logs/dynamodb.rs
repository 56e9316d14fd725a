//! [`LogStore`] on DynamoDB: one item per event in the tenant's `LOG#<tenant>` partition, sorted by
//! its id (time first), so a page is one backwards `Query` between two times, filtered by level and
//! kind; `expires_at` lets DynamoDB's TTL remove it.

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use futures::future::BoxFuture;

use super::{Filter, LogEvent, LogStore, Page, RETENTION_DAYS};
use crate::dynamodb::{key, n, s, sdk_error, table_keys, Item};

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
        let writes = events
            .iter()
            .map(|event| {
                let put = PutRequest::builder().set_item(Some(to_item(event)?)).build()?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        crate::dynamodb::batch::write_all(&self.client, &self.table, writes).await
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
            let levels: Vec<String> = super::Level::ALL
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
        // DynamoDB refuses a start key outside the key condition: a cursor past the window's end
        // starts at its end, one before its start leaves nothing to read.
        let after = filter.after.as_deref().map(sort_key);
        if after.as_deref().is_some_and(|a| a <= low.as_str()) {
            return Ok(Page {
                events: Vec::new(),
                next_cursor: None,
            });
        }
        let start = after
            .filter(|a| a.as_str() < high.as_str())
            .map(|a| key(&table_keys::log_partition(tenant), &a));
        read_pages(query, start, filter.limit, tenant).await
    }
}

/// Reads `query` from `start`, a page at a time, until `limit` events are kept or [`MAX_PAGES`] pages
/// are read (a narrow filter over a long window must not read the whole partition in one request):
/// then the cursor is where reading stopped, so the next request goes on from there.
async fn read_pages(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    mut start: Option<Item>,
    limit: usize,
    tenant: &str,
) -> anyhow::Result<Page> {
    let mut events = Vec::new();
    for _ in 0..MAX_PAGES {
        let out = query
            .clone()
            .set_exclusive_start_key(start)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX).max(PAGE_ITEMS))
            .send()
            .await
            .map_err(sdk_error)?;
        for item in out.items() {
            events.push(from_item(tenant, item)?);
            if events.len() > limit {
                events.truncate(limit);
                let next_cursor = events.last().map(|e| e.event_id.clone());
                return Ok(Page { events, next_cursor });
            }
        }
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(Page {
                events,
                next_cursor: None,
            });
        }
    }
    // Stopped on the page cap: go on after the last item read.
    let next_cursor = start
        .as_ref()
        .and_then(|key| key.get("sk"))
        .and_then(|sk| sk.as_s().ok())
        .and_then(|sk| from_sort_key(sk));
    Ok(Page { events, next_cursor })
}

/// The event id a sort key holds.
fn from_sort_key(sk: &str) -> Option<String> {
    let id = sk.replace("%23", "#").replace("%25", "%");
    super::is_event_id(&id).then_some(id)
}

/// Pages one request reads at most, and the items it asks of each page at least.
const MAX_PAGES: usize = 8;
const PAGE_ITEMS: i32 = 200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sort_key_gives_back_its_event_id() {
        for id in ["001796000000000-req=1", "001796000000000-a#b%c"] {
            assert_eq!(from_sort_key(&sort_key(id)).as_deref(), Some(id));
        }
    }
}
