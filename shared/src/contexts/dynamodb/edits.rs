//! [`ContextEdits`] on DynamoDB: removing one node, or a whole context with its listing entry.

use aws_sdk_dynamodb::types::{DeleteRequest, ReturnValue, WriteRequest};

use super::{fail, pk, s, sort_key, table_keys, DynamoDbContextStore, Item};
use crate::contexts::store::ContextEdits;
use crate::conversation::store::StoreError;
impl DynamoDbContextStore {
    /// Deletes the context's entry in the tenant partition (`TENANT#<tenant>` / `CONTEXT#<id>`).
    async fn delete_index(&self, tenant: &str, id: &str) -> Result<(), StoreError> {
        let index = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(&table_keys::tenant_partition(tenant)));
        index
            .key("sk", s(&table_keys::context_entry_sort(id)))
            .send()
            .await
            .map_err(fail)?;
        Ok(())
    }

    /// Deletes up to 25 items in one batch, retrying what DynamoDB leaves unprocessed.
    async fn delete_batch(&self, chunk: &[Item]) -> Result<(), StoreError> {
        let requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|k| {
                let delete = DeleteRequest::builder().set_key(Some(k.clone())).build();
                Ok(WriteRequest::builder()
                    .delete_request(delete.map_err(|e| StoreError::Unknown(e.into()))?)
                    .build())
            })
            .collect::<Result<_, StoreError>>()?;
        crate::dynamodb::batch::write_all(&self.client, &self.table, requests)
            .await
            .map_err(StoreError::Unknown)?;
        Ok(())
    }
}

impl ContextEdits for DynamoDbContextStore {
    #[tracing::instrument(skip(self))]
    async fn delete_node(&self, tenant: &str, id: &str, seq: u64) -> Result<bool, StoreError> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", pk(tenant, id));
        let delete = delete
            .key("sk", s(&table_keys::node_sort(seq)))
            .return_values(ReturnValue::AllOld);
        Ok(delete.send().await.map_err(fail)?.attributes().is_some())
    }

    /// Deletes every item of the context's partition, 25 to a batch, retrying what DynamoDB leaves
    /// unprocessed, so no node outlives its context.
    #[tracing::instrument(skip(self))]
    async fn delete(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        let projection = Some("pk, sk, quota_sk, quota_owner");
        let mut keys = self.partition_items(tenant, id, projection).await?;
        let Some(meta) = keys.iter().find(|k| sort_key(k) == table_keys::CONTEXT_META) else {
            return Ok(false);
        };
        let text = |name: &str| meta.get(name).and_then(|v| v.as_s().ok()).cloned();
        let quota_item = text("quota_sk").or_else(|| text("quota_owner").map(|o| table_keys::legacy_quota_sort(&o)));
        for k in &mut keys {
            k.retain(|name, _| name == "pk" || name == "sk");
        }
        // The listing entry lives in the tenant partition; it goes first so a half-done delete
        // never lists a context that is already partly gone.
        self.delete_index(tenant, id).await?;
        for chunk in keys.chunks(25) {
            self.delete_batch(chunk).await?;
        }
        if let Some(quota_item) = quota_item {
            self.release(tenant, &quota_item, id).await?;
        }
        Ok(true)
    }
}
