//! [`AgentStore`] on DynamoDB: `TENANT#<tenant>` / `AGENT#<agent id>`, one attribute per field.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use serde_json::Value;

use super::requests::Heartbeat;
use super::store::AgentStore;
use super::{Agent, AgentError, AgentType};
use crate::dynamodb::pages::all_of_kind;
use crate::dynamodb::{condition_failed, key, n, number, s, sdk_error, table_keys, Item};
use crate::keys::dynamodb::DynamoDbKeyStore;
use crate::keys::{ApiKeyRecord, KeyStoreError};

/// Agents in the mcpflow table; their tokens are API keys of the same table.
#[derive(Debug, Clone)]
pub struct DynamoDbAgents {
    client: Client,
    table: String,
    keys: DynamoDbKeyStore,
}

impl DynamoDbAgents {
    #[must_use]
    pub fn new(client: Client, table: String) -> Self {
        let keys = DynamoDbKeyStore::new(client.clone(), table.clone());
        Self { client, table, keys }
    }
}

fn item_key(tenant: &str, agent_id: &str) -> Item {
    key(&table_keys::tenant_partition(tenant), &table_keys::agent_sort(agent_id))
}

fn fail<E: std::error::Error + crate::dynamodb::Reachability + Send + Sync + 'static>(e: E) -> AgentError {
    AgentError::Unknown(sdk_error(e))
}

fn to_item(a: &Agent) -> Item {
    let mut item = item_key(&a.tenant, &a.agent_id);
    item.extend([
        ("agent_id".to_owned(), s(&a.agent_id)),
        ("tenant".to_owned(), s(&a.tenant)),
        ("name".to_owned(), s(&a.name)),
        ("agent_type".to_owned(), s(a.agent_type.as_str())),
        (
            "capabilities".to_owned(),
            AttributeValue::L(a.capabilities.iter().map(|c| s(c)).collect()),
        ),
        ("endpoints".to_owned(), s(&a.endpoints.to_string())),
        ("resources".to_owned(), s(&a.resources.to_string())),
        ("reported_status".to_owned(), s(&a.reported_status)),
        ("current_load".to_owned(), n(a.current_load)),
        ("registered_at".to_owned(), s(&a.registered_at)),
        ("last_heartbeat".to_owned(), s(&a.last_heartbeat)),
        ("last_heartbeat_ms".to_owned(), n(a.last_heartbeat_ms)),
        ("key_id".to_owned(), s(&a.key_id)),
    ]);
    item
}

fn from_item(item: &Item) -> Result<Agent, AgentError> {
    let text = |k: &str| -> Result<String, AgentError> {
        item.get(k)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or_else(|| AgentError::Unknown(anyhow::anyhow!("agent item without {k}")))
    };
    let json = |k: &str| -> Result<Value, AgentError> {
        serde_json::from_str(&text(k)?).map_err(|e| AgentError::Unknown(e.into()))
    };
    let capabilities = match item.get("capabilities") {
        Some(AttributeValue::L(list)) => list.iter().filter_map(|v| v.as_s().ok().cloned()).collect(),
        _ => Vec::new(),
    };
    let load = item
        .get("current_load")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    Ok(Agent {
        agent_id: text("agent_id")?,
        tenant: text("tenant")?,
        name: text("name")?,
        agent_type: AgentType::parse(&text("agent_type")?)
            .ok_or_else(|| AgentError::Unknown(anyhow::anyhow!("agent item of an unknown type")))?,
        capabilities,
        endpoints: json("endpoints")?,
        resources: json("resources")?,
        reported_status: text("reported_status")?,
        current_load: load,
        registered_at: text("registered_at")?,
        last_heartbeat: text("last_heartbeat")?,
        last_heartbeat_ms: number(item, "last_heartbeat_ms").unwrap_or(0),
        key_id: text("key_id")?,
    })
}

impl AgentStore for DynamoDbAgents {
    #[tracing::instrument(skip(self, agent, token), fields(agent_id = %agent.agent_id))]
    async fn register(&self, agent: &Agent, token: &ApiKeyRecord) -> Result<(), AgentError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(agent)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| AgentError::Unknown(e.into()))?;
        let also = vec![TransactWriteItem::builder().put(put).build()];
        self.keys.create_with(token, also).await.map_err(|e| match e {
            KeyStoreError::LimitReached => AgentError::KeysExhausted,
            e => AgentError::Unknown(anyhow::Error::new(e).context("agent and token not stored")),
        })
    }

    #[tracing::instrument(skip(self))]
    async fn get(&self, tenant: &str, agent_id: &str) -> Result<Option<Agent>, AgentError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_key(tenant, agent_id)))
            .consistent_read(true);
        let out = got.send().await.map_err(fail)?;
        out.item().map(from_item).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn list(&self, tenant: &str) -> Result<Vec<Agent>, AgentError> {
        let items = all_of_kind(&self.client, &self.table, tenant, table_keys::AGENT).await?;
        items.iter().map(from_item).collect()
    }

    #[tracing::instrument(skip(self, beat))]
    async fn heartbeat(
        &self,
        tenant: &str,
        agent_id: &str,
        key_id: &str,
        beat: &Heartbeat,
        at: (&str, i64),
    ) -> Result<Agent, AgentError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(tenant, agent_id)))
            .update_expression(
                "SET reported_status = :status, current_load = :load, last_heartbeat = :at, last_heartbeat_ms = :ms",
            )
            .condition_expression("attribute_exists(pk) AND key_id = :key")
            .expression_attribute_values(":key", s(key_id))
            .expression_attribute_values(":status", s(&beat.status))
            .expression_attribute_values(":load", n(beat.current_load))
            .expression_attribute_values(":at", s(at.0))
            .expression_attribute_values(":ms", n(at.1))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        match update.send().await {
            Ok(out) => out
                .attributes()
                .map(from_item)
                .transpose()?
                .ok_or_else(|| AgentError::Unknown(anyhow::anyhow!("heartbeat wrote no agent item"))),
            // The agent as it was comes back when it exists: then it holds another key.
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) if c.item().is_some() => {
                    Err(AgentError::NotThisAgent(agent_id.to_owned()))
                }
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    Err(AgentError::NotFound(agent_id.to_owned()))
                }
                _ => Err(fail(e)),
            },
        }
    }

    #[tracing::instrument(skip(self))]
    async fn delete(&self, tenant: &str, agent_id: &str) -> Result<bool, AgentError> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item_key(tenant, agent_id)))
            .condition_expression("attribute_exists(pk)");
        match delete.send().await {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(fail(e)),
        }
    }
}
