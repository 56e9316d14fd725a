//! [`ConnectionStore`] on DynamoDB: one item per connection, `WSCONN#<connection id>` / `META`, with
//! the principal, `connected_at`, `last_seen`, the count of received messages and `expires_at` (TTL).
//! Counting a message is one `UpdateItem` (`ADD received :one`) that returns the connection with
//! its new count, so a message costs one read-write of its connection. A
//! subscription is `WSSUB#<tenant>#<topic>` / `<connection id>` (with the connection's expiry), so
//! a topic's subscribers are one `Query`; the connection's item keeps its topics (`topics`, a string
//! set), so deleting the connection deletes its subscriptions. A published event is kept under each
//! of its topics, `WSEVT#<tenant>#<topic>` / `<event id>`, for `events/since`.

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, ReturnValue, WriteRequest};
use aws_sdk_dynamodb::Client;

use super::store::{ConnectionStore, EventLog, KeptEvent, Subscription};
use super::{Connection, Received};
use crate::auth::AuthMethod;
use crate::dynamodb::{key, n, number, s, sdk_error, table_keys, Item};

/// The attributes counting a connection's violations: this prefix and the error code.
const VIOLATION_PREFIX: &str = "violation_";

/// Connections in the mcpflow table.
#[derive(Debug, Clone)]
pub struct DynamoDbConnections {
    client: Client,
    table: String,
}

impl DynamoDbConnections {
    #[must_use]
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

fn item_key(connection_id: &str) -> Item {
    key(
        &table_keys::connection_partition(connection_id),
        table_keys::CONNECTION_META,
    )
}

fn from_item(item: &Item) -> anyhow::Result<Connection> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    Ok(Connection {
        connection_id: text("connection_id"),
        tenant: text("tenant"),
        subject: text("subject"),
        role: serde_json::from_value(serde_json::Value::String(text("role")))?,
        method: if text("method") == "jwt" {
            AuthMethod::Jwt
        } else {
            AuthMethod::ApiKey
        },
        connected_at_ms: number(item, "connected_at_ms").unwrap_or(0),
        expires_at: number(item, "expires_at").unwrap_or(0),
    })
}

impl DynamoDbConnections {
    /// The sort keys of a partition's unexpired items (those of `subject` only, when given): a
    /// topic's subscribers, a tenant's connections.
    async fn live_sort_keys(&self, partition: &str, subject: Option<&str>) -> anyhow::Result<Vec<String>> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(partition))
            .filter_expression("expires_at > :now")
            .expression_attribute_values(":now", n(chrono::Utc::now().timestamp()));
        if let Some(subject) = subject {
            query = query
                .filter_expression("expires_at > :now AND subject = :subject")
                .expression_attribute_values(":subject", s(subject));
        }
        let pages = query.into_paginator().items().send();
        let items: Vec<Item> = pages.collect::<Result<_, _>>().await.map_err(sdk_error)?;
        Ok(items
            .iter()
            .filter_map(|i| i.get("sk").and_then(|v| v.as_s().ok()).cloned())
            .collect())
    }
}

impl ConnectionStore for DynamoDbConnections {
    #[tracing::instrument(skip(self, connection), fields(connection = %connection.connection_id))]
    async fn put(&self, connection: &Connection) -> anyhow::Result<()> {
        let mut item = item_key(&connection.connection_id);
        item.extend([
            ("connection_id".to_owned(), s(&connection.connection_id)),
            ("tenant".to_owned(), s(&connection.tenant)),
            ("subject".to_owned(), s(&connection.subject)),
            ("role".to_owned(), s(connection.role.as_str())),
            (
                "method".to_owned(),
                s(if connection.method == AuthMethod::Jwt {
                    "jwt"
                } else {
                    "api_key"
                }),
            ),
            ("connected_at_ms".to_owned(), n(connection.connected_at_ms)),
            ("last_seen_ms".to_owned(), n(connection.connected_at_ms)),
            ("received".to_owned(), n(0)),
            ("expires_at".to_owned(), n(connection.expires_at)),
        ]);
        let put = self.client.put_item().table_name(&self.table).set_item(Some(item));
        put.send().await.map(drop).map_err(sdk_error)?;
        // Counted among its tenant's connections until it closes or its TTL passes.
        let mut entry = key(
            &table_keys::tenant_connections_partition(&connection.tenant),
            &connection.connection_id,
        );
        entry.insert("expires_at".to_owned(), n(connection.expires_at));
        entry.insert("subject".to_owned(), s(&connection.subject));
        let put = self.client.put_item().table_name(&self.table).set_item(Some(entry));
        put.send().await.map(drop).map_err(sdk_error)
    }

    #[tracing::instrument(skip(self))]
    async fn violated(
        &self,
        connection_id: &str,
        code: &str,
        penalty_until_ms: Option<i64>,
    ) -> anyhow::Result<Option<u64>> {
        let expression = if penalty_until_ms.is_some() {
            "ADD violations :one, #code :one, times_exceeded :one SET penalty_until_ms = :until"
        } else {
            "ADD violations :one, #code :one"
        };
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(connection_id)))
            .update_expression(expression)
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#code", format!("{VIOLATION_PREFIX}{code}"))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew);
        let update = match penalty_until_ms {
            Some(until) => update.expression_attribute_values(":until", n(until)),
            None => update,
        };
        match update.send().await {
            Ok(out) => Ok(Some(
                out.attributes()
                    .and_then(|a| number(a, "violations"))
                    .and_then(|v| u64::try_from(v).ok())
                    .unwrap_or(1),
            )),
            Err(e) if crate::dynamodb::condition_failed(&e) => Ok(None),
            Err(e) => Err(sdk_error(e)),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn subject_connections(&self, tenant: &str, subject: &str) -> anyhow::Result<Vec<String>> {
        let partition = table_keys::tenant_connections_partition(tenant);
        self.live_sort_keys(&partition, Some(subject)).await
    }

    #[tracing::instrument(skip(self))]
    async fn tenant_connections(&self, tenant: &str) -> anyhow::Result<u64> {
        let partition = table_keys::tenant_connections_partition(tenant);
        Ok(self.live_sort_keys(&partition, None).await?.len() as u64)
    }

    #[tracing::instrument(skip(self))]
    async fn get(&self, connection_id: &str) -> anyhow::Result<Option<Connection>> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_key(connection_id)));
        let out = got.consistent_read(true).send().await.map_err(sdk_error)?;
        out.item().map(from_item).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn received(&self, connection_id: &str, now_ms: i64) -> anyhow::Result<Option<Received>> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(connection_id)))
            .update_expression("ADD received :one SET last_seen_ms = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now_ms))
            .return_values(ReturnValue::AllNew);
        match update.send().await {
            Ok(out) => {
                let item = out
                    .attributes()
                    .ok_or_else(|| anyhow::anyhow!("UpdateItem returned no item"))?;
                let count = u64::try_from(number(item, "received").unwrap_or(1)).unwrap_or(1);
                let mut topics = item
                    .get("topics")
                    .and_then(|v| v.as_ss().ok())
                    .cloned()
                    .unwrap_or_default();
                topics.sort();
                let violations = item
                    .iter()
                    .filter_map(|(k, v)| {
                        let code = k.strip_prefix(VIOLATION_PREFIX)?;
                        Some((code.to_owned(), v.as_n().ok()?.parse().ok()?))
                    })
                    .collect();
                Ok(Some(Received {
                    connection: from_item(item)?,
                    first: count == 1,
                    count,
                    topics,
                    violations,
                    penalty_until_ms: number(item, "penalty_until_ms").unwrap_or(0),
                    times_exceeded: number(item, "times_exceeded")
                        .and_then(|t| u64::try_from(t).ok())
                        .unwrap_or(0),
                }))
            }
            Err(e) if crate::dynamodb::condition_failed(&e) => Ok(None),
            Err(e) => Err(sdk_error(e)),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn put_pending(&self, connection_id: &str, deadline_ms: i64, expires_at: i64) -> anyhow::Result<()> {
        let mut item = key(
            &table_keys::connection_partition(connection_id),
            table_keys::CONNECTION_PENDING,
        );
        item.insert("deadline_ms".to_owned(), n(deadline_ms));
        item.insert("expires_at".to_owned(), n(expires_at));
        let put = self.client.put_item().table_name(&self.table).set_item(Some(item));
        put.send().await.map(drop).map_err(sdk_error)
    }

    #[tracing::instrument(skip(self))]
    async fn pending(&self, connection_id: &str) -> anyhow::Result<Option<i64>> {
        let got = self.client.get_item().table_name(&self.table).set_key(Some(key(
            &table_keys::connection_partition(connection_id),
            table_keys::CONNECTION_PENDING,
        )));
        let out = got.consistent_read(true).send().await.map_err(sdk_error)?;
        Ok(out.item().and_then(|i| number(i, "deadline_ms")))
    }

    #[tracing::instrument(skip(self))]
    async fn delete(&self, connection_id: &str) -> anyhow::Result<()> {
        let pending = key(
            &table_keys::connection_partition(connection_id),
            table_keys::CONNECTION_PENDING,
        );
        let forget = self.client.delete_item().table_name(&self.table).set_key(Some(pending));
        forget.send().await.map_err(sdk_error)?;
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item_key(connection_id)))
            .return_values(ReturnValue::AllOld);
        let out = delete.send().await.map_err(sdk_error)?;
        let Some(old) = out.attributes() else {
            return Ok(());
        };
        let tenant = old
            .get("tenant")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        let entry = key(&table_keys::tenant_connections_partition(&tenant), connection_id);
        let forget = self.client.delete_item().table_name(&self.table).set_key(Some(entry));
        forget.send().await.map_err(sdk_error)?;
        let topics = old
            .get("topics")
            .and_then(|v| v.as_ss().ok())
            .cloned()
            .unwrap_or_default();
        for topic in topics {
            self.unsubscribe(&tenant, &topic, connection_id).await?;
        }
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn subscribe(
        &self,
        tenant: &str,
        topic: &str,
        connection_id: &str,
        expires_at: i64,
    ) -> anyhow::Result<Subscription> {
        // The connection keeps its topics first, so that `$disconnect` removes what follows; a
        // connection closed meanwhile, or full, gets no subscription.
        let remember = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(connection_id)))
            .update_expression("ADD topics :topics")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(topics) OR size(topics) < :max OR contains(topics, :topic))",
            )
            .expression_attribute_values(":topics", AttributeValue::Ss(vec![topic.to_owned()]))
            .expression_attribute_values(":topic", s(topic))
            .expression_attribute_values(":max", n(super::MAX_TOPICS_PER_CONNECTION));
        match remember.send().await {
            Ok(_) => {}
            // Refused: gone, or full (a rare case, told apart by reading it).
            Err(e) if crate::dynamodb::condition_failed(&e) => {
                return Ok(match self.get(connection_id).await? {
                    Some(_) => Subscription::Full,
                    None => Subscription::Gone,
                })
            }
            Err(e) => return Err(sdk_error(e)),
        }
        let mut item = key(&table_keys::subscription_partition(tenant, topic), connection_id);
        item.insert("expires_at".to_owned(), n(expires_at));
        let put = self.client.put_item().table_name(&self.table).set_item(Some(item));
        put.send().await.map_err(sdk_error)?;
        Ok(Subscription::Subscribed)
    }

    #[tracing::instrument(skip(self))]
    async fn subscribers(&self, tenant: &str, topic: &str) -> anyhow::Result<Vec<String>> {
        let partition = table_keys::subscription_partition(tenant, topic);
        self.live_sort_keys(&partition, None).await
    }

    #[tracing::instrument(skip(self))]
    async fn unsubscribe(&self, tenant: &str, topic: &str, connection_id: &str) -> anyhow::Result<()> {
        let k = key(&table_keys::subscription_partition(tenant, topic), connection_id);
        let delete = self.client.delete_item().table_name(&self.table).set_key(Some(k));
        delete.send().await.map(drop).map_err(sdk_error)
    }
}

impl EventLog for DynamoDbConnections {
    #[tracing::instrument(skip(self, event), fields(event = %event.event_id))]
    async fn keep(&self, tenant: &str, topics: &[String], event: &KeptEvent, expires_at: i64) -> anyhow::Result<()> {
        // One item per topic; what a batch leaves unprocessed is written again.
        let mut writes: Vec<WriteRequest> = Vec::with_capacity(topics.len());
        for topic in topics {
            let mut item = key(&table_keys::event_partition(tenant, topic), &event.event_id);
            item.insert("message".to_owned(), s(&event.message));
            item.insert("expires_at".to_owned(), n(expires_at));
            let put = PutRequest::builder().set_item(Some(item)).build()?;
            writes.push(WriteRequest::builder().put_request(put).build());
        }
        crate::dynamodb::batch::write_all(&self.client, &self.table, writes).await?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn since(
        &self,
        tenant: &str,
        topic: &str,
        after: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<KeptEvent>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk > :after")
            .expression_attribute_values(":pk", s(&table_keys::event_partition(tenant, topic)))
            .expression_attribute_values(":after", s(after.unwrap_or("")))
            .filter_expression("expires_at > :now")
            .expression_attribute_values(":now", n(chrono::Utc::now().timestamp()))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        let mut events = Vec::new();
        let mut pages = query.into_paginator().items().send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(sdk_error)?;
            let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            events.push(KeptEvent {
                event_id: text("sk"),
                message: text("message"),
            });
            if events.len() >= limit {
                break;
            }
        }
        Ok(events)
    }
}
