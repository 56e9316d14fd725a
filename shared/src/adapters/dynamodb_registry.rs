//! [`RegistryStore`] on DynamoDB: `TENANT#<tenant>` / `<KIND>#<key>`, the document in `doc`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, Select};
use aws_sdk_dynamodb::Client;
use serde_json::Value;

use super::sdk_error;
use crate::registered::store::RegistryStore;
use crate::registered::{Kind, RegistryError, MAX_PER_KIND};

/// Registered tools, prompts and resources in the mcpflow table.
#[derive(Debug, Clone)]
pub struct DynamoDbRegistry {
    client: Client,
    table: String,
}

impl DynamoDbRegistry {
    #[must_use]
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn key(tenant: &str, kind: Kind, k: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), s(&format!("TENANT#{tenant}"))),
        ("sk".to_owned(), s(&format!("{}{k}", kind.prefix()))),
    ])
}

fn fail<E: std::error::Error + Send + Sync + 'static>(e: E) -> RegistryError {
    RegistryError::Unknown(sdk_error(e))
}

fn doc(item: &HashMap<String, AttributeValue>) -> Result<Value, RegistryError> {
    let text = item
        .get("doc")
        .and_then(|v| v.as_s().ok())
        .map_or("null", String::as_str);
    serde_json::from_str(text).map_err(|e| RegistryError::Unknown(e.into()))
}

impl DynamoDbRegistry {
    /// A query of the tenant's items of `kind`.
    fn of_kind(&self, tenant: &str, kind: Kind) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let query = self.client.query().table_name(&self.table);
        query
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .expression_attribute_values(":pk", s(&format!("TENANT#{tenant}")))
            .expression_attribute_values(":p", s(kind.prefix()))
    }

    async fn count(&self, tenant: &str, kind: Kind) -> Result<usize, RegistryError> {
        let query = self.of_kind(tenant, kind).select(Select::Count).consistent_read(true);
        let out = query.send().await.map_err(fail)?;
        Ok(usize::try_from(out.count()).unwrap_or(usize::MAX))
    }
}

impl RegistryStore for DynamoDbRegistry {
    #[tracing::instrument(skip(self, value))]
    async fn put(&self, tenant: &str, kind: Kind, k: &str, value: &Value) -> Result<(), RegistryError> {
        if self.count(tenant, kind).await? >= MAX_PER_KIND {
            return Err(RegistryError::LimitReached);
        }
        let mut item = key(tenant, kind, k);
        item.insert("doc".into(), s(&value.to_string()));
        let put = self.client.put_item().table_name(&self.table).set_item(Some(item));
        match put.condition_expression("attribute_not_exists(pk)").send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(RegistryError::Exists {
                    kind,
                    key: k.to_owned(),
                })
            }
            Err(e) => Err(fail(e)),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn get(&self, tenant: &str, kind: Kind, k: &str) -> Result<Option<Value>, RegistryError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, kind, k)));
        let out = got.consistent_read(true).send().await.map_err(fail)?;
        out.item().map(doc).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn list(&self, tenant: &str, kind: Kind) -> Result<Vec<Value>, RegistryError> {
        let pages = self.of_kind(tenant, kind).into_paginator().items().send();
        let items: Vec<_> = pages.collect::<Result<_, _>>().await.map_err(fail)?;
        items.iter().map(doc).collect()
    }

    #[tracing::instrument(skip(self))]
    async fn delete(&self, tenant: &str, kind: Kind, k: &str) -> Result<bool, RegistryError> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, kind, k)));
        let out = delete.return_values(ReturnValue::AllOld).send().await.map_err(fail)?;
        Ok(out.attributes().is_some())
    }
}
