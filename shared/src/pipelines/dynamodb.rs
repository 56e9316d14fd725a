//! [`PipelineStore`] on DynamoDB: the pipeline's item (its definition as JSON in `doc`) and the
//! tenant's pipeline count, written in one transaction so that the limit holds under concurrent
//! creates.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;

use super::store::PipelineStore;
use super::{Pipeline, PipelineError, MAX_PIPELINES_PER_TENANT};
use crate::dynamodb::pages::all_of_kind;
use crate::dynamodb::transactions::{transact, Transacted};
use crate::dynamodb::{key, n, s, sdk_error, table_keys, Item};

/// The pipeline count item's number attribute (`PIPECOUNT`).
pub(crate) const COUNT_ATTRIBUTE: &str = "pipeline_count";

/// Pipelines in the mcpflow table.
#[derive(Debug, Clone)]
pub struct DynamoDbPipelines {
    client: Client,
    table: String,
}

impl DynamoDbPipelines {
    #[must_use]
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

fn item_key(tenant: &str, pipeline_id: &str) -> Item {
    key(
        &table_keys::tenant_partition(tenant),
        &table_keys::pipeline_sort(pipeline_id),
    )
}

fn unknown(e: impl Into<anyhow::Error>) -> PipelineError {
    PipelineError::Unknown(e.into())
}

fn from_item(tenant: &str, item: &Item) -> Result<Pipeline, PipelineError> {
    let doc = item
        .get("doc")
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| unknown(anyhow::anyhow!("pipeline item without doc")))?;
    let mut pipeline: Pipeline = serde_json::from_str(doc).map_err(unknown)?;
    tenant.clone_into(&mut pipeline.tenant);
    Ok(pipeline)
}

impl PipelineStore for DynamoDbPipelines {
    #[tracing::instrument(skip(self, pipeline), fields(pipeline_id = %pipeline.pipeline_id))]
    async fn put(&self, pipeline: &Pipeline) -> Result<(), PipelineError> {
        let mut item = item_key(&pipeline.tenant, &pipeline.pipeline_id);
        item.insert("doc".into(), s(&serde_json::to_string(pipeline).map_err(unknown)?));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(sk)")
            .build()
            .map_err(unknown)?;
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                &table_keys::tenant_partition(&pipeline.tenant),
                table_keys::PIPELINE_COUNT,
            )))
            .update_expression("ADD #count :one")
            .condition_expression("attribute_not_exists(#count) OR #count < :max")
            .expression_attribute_names("#count", COUNT_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(MAX_PIPELINES_PER_TENANT))
            .build()
            .map_err(unknown)?;
        let writes = vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().update(count).build(),
        ];
        match transact(&self.client, writes).await.map_err(PipelineError::Unknown)? {
            Transacted::Written => Ok(()),
            Transacted::Refused { item: 1 } => Err(PipelineError::LimitReached),
            Transacted::Refused { .. } => Err(unknown(anyhow::anyhow!("pipeline id {} taken", pipeline.pipeline_id))),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn get(&self, tenant: &str, pipeline_id: &str) -> Result<Option<Pipeline>, PipelineError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_key(tenant, pipeline_id)))
            .consistent_read(true);
        let out = got.send().await.map_err(|e| unknown(sdk_error(e)))?;
        out.item().map(|i| from_item(tenant, i)).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn list(&self, tenant: &str) -> Result<Vec<Pipeline>, PipelineError> {
        let items = all_of_kind(&self.client, &self.table, tenant, table_keys::PIPELINE).await?;
        items.iter().map(|i| from_item(tenant, i)).collect()
    }
}
