//! [`IntegrationStore`] on DynamoDB: the integration's item (its spec as JSON in `doc`, beside its
//! `version` and who wrote it when) and the tenant's integration count, written in one transaction on
//! create and delete, so that the limit holds under concurrent creates. A replace is one conditional
//! `UpdateItem` on the version.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;

use super::store::{check, IntegrationStore, Page, Written};
use super::{Integration, IntegrationError, Precondition, Spec, MAX_INTEGRATIONS_PER_TENANT};
use crate::dynamodb::pages::{backwards, partition_query, start_after};
use crate::dynamodb::transactions::{transact, Transacted};
use crate::dynamodb::{key, n, number, s, sdk_error, table_keys, Item};

/// The integration count item's number attribute (`INTEGCOUNT`).
pub(crate) const COUNT_ATTRIBUTE: &str = "integration_count";

/// Integrations in the mcpflow table.
#[derive(Debug, Clone)]
pub struct DynamoDbIntegrations {
    client: Client,
    table: String,
}

impl DynamoDbIntegrations {
    #[must_use]
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    fn count_update(&self, tenant: &str, add: i64) -> Result<Update, IntegrationError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                &table_keys::tenant_partition(tenant),
                table_keys::INTEGRATION_COUNT,
            )))
            .update_expression("ADD #count :add")
            .expression_attribute_names("#count", COUNT_ATTRIBUTE)
            .expression_attribute_values(":add", n(add));
        let update = if add > 0 {
            update
                .condition_expression("attribute_not_exists(#count) OR #count < :max")
                .expression_attribute_values(":max", n(MAX_INTEGRATIONS_PER_TENANT))
        } else {
            update
        };
        update.build().map_err(unknown)
    }
}

fn item_key(tenant: &str, integration_id: &str) -> Item {
    key(
        &table_keys::tenant_partition(tenant),
        &table_keys::integration_sort(integration_id),
    )
}

fn unknown(e: impl Into<anyhow::Error>) -> IntegrationError {
    IntegrationError::Unknown(e.into())
}

fn text(item: &Item, name: &str) -> Result<String, IntegrationError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| unknown(anyhow::anyhow!("integration item without {name}")))
}

fn from_item(tenant: &str, item: &Item) -> Result<Integration, IntegrationError> {
    let spec: Spec = serde_json::from_str(&text(item, "doc")?).map_err(unknown)?;
    let version = number(item, "version")
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| unknown(anyhow::anyhow!("integration item without version")))?;
    Ok(Integration {
        integration_id: text(item, "integration_id")?,
        tenant: tenant.to_owned(),
        spec,
        version,
        created_at: text(item, "created_at")?,
        created_by: text(item, "created_by")?,
        updated_at: text(item, "updated_at")?,
        updated_by: text(item, "updated_by")?,
    })
}

fn doc(spec: &Spec) -> Result<String, IntegrationError> {
    serde_json::to_string(spec).map_err(unknown)
}

/// The condition a replace or a delete writes under, with its values.
fn condition(expected: Precondition) -> (&'static str, Option<u64>) {
    match expected {
        Precondition::Version(v) => ("attribute_exists(sk) AND version = :expected", Some(v)),
        Precondition::Any | Precondition::None => ("attribute_exists(sk)", None),
    }
}

impl IntegrationStore for DynamoDbIntegrations {
    #[tracing::instrument(skip(self, integration), fields(integration_id = %integration.integration_id))]
    async fn put(&self, integration: &Integration) -> Result<(), IntegrationError> {
        let mut item = item_key(&integration.tenant, &integration.integration_id);
        item.insert("integration_id".into(), s(&integration.integration_id));
        item.insert("doc".into(), s(&doc(&integration.spec)?));
        item.insert("version".into(), n(integration.version));
        for (name, value) in [
            ("created_at", &integration.created_at),
            ("created_by", &integration.created_by),
            ("updated_at", &integration.updated_at),
            ("updated_by", &integration.updated_by),
        ] {
            item.insert(name.into(), s(value));
        }
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(sk)")
            .build()
            .map_err(unknown)?;
        let writes = vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder()
                .update(self.count_update(&integration.tenant, 1)?)
                .build(),
        ];
        match transact(&self.client, writes)
            .await
            .map_err(IntegrationError::Unknown)?
        {
            Transacted::Written => Ok(()),
            Transacted::Refused { item: 1 } => Err(IntegrationError::LimitReached),
            Transacted::Refused { .. } => Err(unknown(anyhow::anyhow!(
                "integration id {} taken",
                integration.integration_id
            ))),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn get(&self, tenant: &str, integration_id: &str) -> Result<Option<Integration>, IntegrationError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_key(tenant, integration_id)))
            .consistent_read(true);
        let out = got.send().await.map_err(|e| unknown(sdk_error(e)))?;
        out.item().map(|i| from_item(tenant, i)).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn page(&self, tenant: &str, limit: usize, after: Option<&str>) -> Result<Page, IntegrationError> {
        let query = partition_query(&self.client, &self.table, tenant, table_keys::INTEGRATION);
        let start = after.map(|id| start_after(tenant, table_keys::INTEGRATION, id));
        let (integrations, next_cursor) = backwards(query, start, limit, |item| {
            let integration = from_item(tenant, item)?;
            Ok::<_, IntegrationError>(Some((integration.integration_id.clone(), integration)))
        })
        .await?;
        Ok(Page {
            integrations,
            next_cursor,
        })
    }

    #[tracing::instrument(skip(self, spec, written))]
    async fn replace(
        &self,
        tenant: &str,
        integration_id: &str,
        spec: &Spec,
        written: &Written,
        expected: Precondition,
    ) -> Result<Integration, IntegrationError> {
        let (condition, version) = condition(expected);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(tenant, integration_id)))
            .update_expression("SET doc = :doc, version = version + :one, updated_at = :at, updated_by = :by")
            .condition_expression(condition)
            .expression_attribute_values(":doc", s(&doc(spec)?))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":at", s(&written.at))
            .expression_attribute_values(":by", s(&written.by))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let update = match version {
            Some(v) => update.expression_attribute_values(":expected", n(v)),
            None => update,
        };
        match update.send().await {
            Ok(out) => from_item(tenant, out.attributes().unwrap_or(&Item::new())),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                    let Some(old) = c.item() else {
                        return Err(IntegrationError::NotFound(integration_id.to_owned()));
                    };
                    let current = from_item(tenant, old)?.version;
                    check(integration_id, current, expected)?;
                    Err(unknown(anyhow::anyhow!(
                        "integration {integration_id}: replace refused"
                    )))
                }
                _ => Err(unknown(sdk_error(e))),
            },
        }
    }

    #[tracing::instrument(skip(self))]
    async fn delete(&self, tenant: &str, integration_id: &str, expected: Precondition) -> Result<(), IntegrationError> {
        let (condition, version) = condition(expected);
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(item_key(tenant, integration_id)))
            .condition_expression(condition);
        let delete = match version {
            Some(v) => delete.expression_attribute_values(":expected", n(v)),
            None => delete,
        };
        let writes = vec![
            TransactWriteItem::builder()
                .delete(delete.build().map_err(unknown)?)
                .build(),
            TransactWriteItem::builder()
                .update(self.count_update(tenant, -1)?)
                .build(),
        ];
        match transact(&self.client, writes)
            .await
            .map_err(IntegrationError::Unknown)?
        {
            Transacted::Written => Ok(()),
            // Refused: gone, or another version (read to tell which; a rare path).
            Transacted::Refused { .. } => match self.get(tenant, integration_id).await? {
                None => Err(IntegrationError::NotFound(integration_id.to_owned())),
                Some(current) => {
                    check(integration_id, current.version, expected)?;
                    Err(unknown(anyhow::anyhow!("integration {integration_id}: delete refused")))
                }
            },
        }
    }
}
