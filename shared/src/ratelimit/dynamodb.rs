//! [`RateLimiter`] on DynamoDB. One item per bucket: pk `RATE#<tenant>#<subject>` (components escaped by
//! [`crate::dynamodb::table_keys`], so a subject holding `#` cannot share another principal's bucket), sk `RATE`, `tat` (the
//! next arrival time, ms) and `expires_at` (TTL, once the bucket is full again). A request is one
//! conditional update: `tat = tat + interval` while the bucket is busy; an idle bucket (or a new one)
//! takes a second update that restarts it from now. A failed condition returns the old item, so a
//! limited request needs no extra read to compute `Retry-After`.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;

use crate::dynamodb::{n, s, table_keys};
use crate::ratelimit::{retry_after_secs, Admission, Bucket, Limit, RateLimiter};

/// Rate-limit buckets in the mcpflow table.
#[derive(Debug, Clone)]
pub struct DynamoDbRateLimiter {
    client: Client,
    table: String,
}

impl DynamoDbRateLimiter {
    #[must_use]
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

/// `Ok(None)`: the update went through; `Ok(Some(tat))`: the condition failed, with the stored `tat`
/// (`None` inside when there was no item).
type Attempt = anyhow::Result<Option<Option<i64>>>;

impl DynamoDbRateLimiter {
    async fn update(&self, bucket: Bucket<'_>, expression: &str, condition: &str, values: &[(&str, i64)]) -> Attempt {
        let pk = table_keys::rate_partition(bucket.tenant, bucket.subject);
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .key("sk", s(table_keys::RATE))
            .update_expression(expression)
            .condition_expression(condition)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (name, value) in values {
            request = request.expression_attribute_values(*name, n(*value));
        }
        match request.send().await {
            Ok(_) => Ok(None),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    let tat = failed
                        .item()
                        .and_then(|i| i.get("tat"))
                        .and_then(|v| v.as_n().ok()?.parse().ok());
                    Ok(Some(tat))
                }
                _ => Err(crate::dynamodb::sdk_error(e)),
            },
        }
    }
}

impl DynamoDbRateLimiter {
    /// Restarts an idle (or new) bucket from now; `false` when another request restarted it first.
    async fn restart(&self, bucket: Bucket<'_>, now_ms: i64, interval: i64) -> anyhow::Result<bool> {
        let next = now_ms + interval;
        let idle = [(":next", next), (":exp", next / 1000 + 60), (":now", now_ms)];
        let condition = "attribute_not_exists(tat) OR tat < :now";
        Ok(self
            .update(bucket, "SET tat = :next, expires_at = :exp", condition, &idle)
            .await?
            .is_none())
    }
}

impl RateLimiter for DynamoDbRateLimiter {
    #[tracing::instrument(skip(self))]
    async fn admit(&self, bucket: Bucket<'_>, limit: Limit, now_ms: i64) -> anyhow::Result<Admission> {
        let (interval, burst) = (limit.interval_ms(), limit.burst_ms());
        // Kept a minute past the moment the bucket is full again; TTL then deletes it.
        let busy_expiry = (now_ms + burst + interval) / 1000 + 60;
        for _ in 0..3 {
            let busy = [
                (":i", interval),
                (":exp", busy_expiry),
                (":now", now_ms),
                (":max", now_ms + burst),
            ];
            let condition = "tat >= :now AND tat <= :max";
            let stored = match self
                .update(bucket, "SET tat = tat + :i, expires_at = :exp", condition, &busy)
                .await?
            {
                None => return Ok(Admission::Admitted),
                Some(tat) => tat,
            };
            match stored {
                Some(tat) if tat > now_ms + burst => {
                    return Ok(Admission::Limited {
                        retry_after_secs: retry_after_secs(tat - now_ms - burst),
                    })
                }
                // Changed between our read of it and now: try the busy update again.
                Some(tat) if tat >= now_ms => continue,
                _ => {}
            }
            if self.restart(bucket, now_ms, interval).await? {
                return Ok(Admission::Admitted);
            }
            // Another request restarted the bucket first: ours counts against it on the next pass.
        }
        // Lost every race to the principal's own concurrent requests: ask this one to come back
        // rather than fail it (a 429 the client retries, never a 500).
        tracing::warn!(
            tenant = bucket.tenant,
            "rate-limit bucket kept changing under concurrent requests"
        );
        Ok(Admission::Limited { retry_after_secs: 1 })
    }
}
