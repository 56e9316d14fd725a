//! [`TaskListing`] on DynamoDB: one backwards `Query` per page, on the tenant partition when no
//! filter is given, else on the index of the first filter (see [`super::index`]), the other filters
//! and expiry as a filter expression.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;

use super::index::{self, Index};
use super::{task_from_item, DynamoDbTaskStore};
use crate::conversation::store::StoreError;
use crate::dynamodb::pages::{backwards, partition_query, start_after};
use crate::tasks::listing::{TaskFilter, TaskListing};
use crate::tasks::model::Task;

/// Items DynamoDB's TTL has not deleted yet are not served; tasks written before tasks expired have
/// no `expires_at` and never expire.
const UNEXPIRED: &str = "(attribute_not_exists(#exp) OR #exp > :now)";

impl DynamoDbTaskStore {
    /// The read of `filter`'s first index partition (the tenant partition when none), newest first.
    fn keyed_query(&self, tenant: &str, key: Option<&(Index, String)>) -> QueryFluentBuilder {
        let Some((index, partition)) = key else {
            return partition_query(self.client(), self.table(), tenant, "TASK");
        };
        self.client()
            .query()
            .table_name(self.table())
            .index_name(index.name)
            .key_condition_expression("#k = :k")
            .expression_attribute_names("#k", index.pk)
            .expression_attribute_values(":k", AttributeValue::S(partition.clone()))
            .scan_index_forward(false)
    }

    /// The `Query` that serves `filter`, and the index key it reads (`None`: the tenant partition).
    /// A page of a single filter (or none) is `limit + 1` items: the key decides all but expiry.
    fn tasks_query(
        &self,
        tenant: &str,
        filter: &TaskFilter,
        limit: usize,
        now_secs: i64,
    ) -> (QueryFluentBuilder, Option<(Index, String)>) {
        let mut wanted = index::wanted(tenant, filter).into_iter();
        let key = wanted.next();
        let mut query = self
            .keyed_query(tenant, key.as_ref())
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":now", AttributeValue::N(now_secs.to_string()));
        let mut expression = UNEXPIRED.to_owned();
        let mut residual = false;
        for (i, (index, partition)) in wanted.enumerate() {
            expression.push_str(&format!(" AND #f{i} = :f{i}"));
            query = query
                .expression_attribute_names(format!("#f{i}"), index.pk)
                .expression_attribute_values(format!(":f{i}"), AttributeValue::S(partition));
            residual = true;
        }
        if !residual {
            query = query.limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
        }
        (query.filter_expression(expression), key)
    }
}

impl TaskListing for DynamoDbTaskStore {
    #[tracing::instrument(skip(self))]
    async fn list_tasks(
        &self,
        tenant: &str,
        filter: &TaskFilter,
        limit: usize,
        after: Option<&str>,
        now_secs: i64,
    ) -> Result<(Vec<Task>, Option<String>), StoreError> {
        let (query, key) = self.tasks_query(tenant, filter, limit, now_secs);
        let start = after.map(|a| {
            let mut start = start_after(tenant, "TASK", a);
            if let Some((index, partition)) = &key {
                start.insert(index.pk.into(), AttributeValue::S(partition.clone()));
                start.insert(index.sk.into(), AttributeValue::S(a.to_owned()));
            }
            start
        });
        // The keys decide; checking again in code costs nothing and guards against an item whose
        // index attributes drifted.
        backwards(query, start, limit, |item| {
            let task = task_from_item(tenant, item)?;
            Ok((filter.matches(&task) && !task.expired(now_secs)).then(|| (task.task_id.clone(), task)))
        })
        .await
    }
}
