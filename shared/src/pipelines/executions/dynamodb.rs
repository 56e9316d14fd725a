//! [`ExecutionStore`] on DynamoDB: the execution as JSON in `doc`, with a `version` every write
//! expects.

use aws_sdk_dynamodb::Client;

use super::store::ExecutionStore;
use super::Execution;
use crate::dynamodb::{condition_failed, key, n, number, pages, s, sdk_error, table_keys, Item};
use crate::pipelines::PipelineError;

/// Executions in the mcpflow table.
#[derive(Debug, Clone)]
pub struct DynamoDbExecutions {
    client: Client,
    table: String,
}

impl DynamoDbExecutions {
    #[must_use]
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    fn item(&self, execution: &Execution, version: u64) -> Result<Item, PipelineError> {
        let mut item = item_key(&execution.tenant, &execution.execution_id);
        let doc = serde_json::to_string(execution).map_err(unknown)?;
        item.insert("doc".into(), s(&doc));
        item.insert("version".into(), n(version));
        item.insert(
            INDEX_PK.into(),
            s(&table_keys::execution_index_partition(
                &execution.tenant,
                &execution.pipeline_id,
            )),
        );
        item.insert(INDEX_SK.into(), s(&execution.execution_id));
        Ok(item)
    }
}

/// The index listing a pipeline's executions (`gsi1`, shared with the tasks' status index under
/// other partition keys).
const INDEX: &str = "gsi1";
const INDEX_PK: &str = "gsi1pk";
const INDEX_SK: &str = "gsi1sk";

fn item_key(tenant: &str, execution_id: &str) -> Item {
    key(
        &table_keys::tenant_partition(tenant),
        &table_keys::execution_sort(execution_id),
    )
}

/// The execution an item holds, with its tenant and version.
fn read(tenant: &str, item: &Item) -> Result<Execution, PipelineError> {
    let doc = item
        .get("doc")
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| unknown(anyhow::anyhow!("execution item without doc")))?;
    let mut execution: Execution = serde_json::from_str(doc).map_err(unknown)?;
    tenant.clone_into(&mut execution.tenant);
    execution.version = number(item, "version").and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
    Ok(execution)
}

fn unknown(e: impl Into<anyhow::Error>) -> PipelineError {
    PipelineError::Unknown(e.into())
}

impl ExecutionStore for DynamoDbExecutions {
    #[tracing::instrument(skip(self, execution), fields(execution_id = %execution.execution_id))]
    async fn create(&self, execution: &Execution) -> Result<bool, PipelineError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.item(execution, 1)?))
            .condition_expression("attribute_not_exists(sk)");
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(unknown(sdk_error(e))),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn list(
        &self,
        tenant: &str,
        pipeline_id: &str,
        limit: usize,
        after: Option<&str>,
    ) -> Result<(Vec<Execution>, Option<String>), PipelineError> {
        let partition = table_keys::execution_index_partition(tenant, pipeline_id);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(INDEX)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", INDEX_PK)
            .expression_attribute_values(":pk", s(&partition))
            .scan_index_forward(false)
            // One more than the page, so that it says whether another follows; a page of full
            // execution documents would otherwise read up to 1 MB.
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
        let start = after.map(|id| {
            let mut start = item_key(tenant, id);
            start.insert(INDEX_PK.into(), s(&partition));
            start.insert(INDEX_SK.into(), s(id));
            start
        });
        pages::backwards(query, start, limit, |item| {
            let execution = read(tenant, item)?;
            Ok(Some((execution.execution_id.clone(), execution)))
        })
        .await
    }

    #[tracing::instrument(skip(self))]
    async fn get(&self, tenant: &str, execution_id: &str) -> Result<Option<Execution>, PipelineError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_key(tenant, execution_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unknown(sdk_error(e)))?;
        let Some(item) = got.item else { return Ok(None) };
        read(tenant, &item).map(Some)
    }

    #[tracing::instrument(skip(self, execution), fields(execution_id = %execution.execution_id))]
    async fn replace(&self, execution: &Execution) -> Result<bool, PipelineError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.item(execution, execution.version + 1)?))
            .condition_expression("version = :read")
            .expression_attribute_values(":read", n(execution.version));
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(unknown(sdk_error(e))),
        }
    }
}
