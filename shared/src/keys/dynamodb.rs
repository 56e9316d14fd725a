//! [`KeyStore`] on DynamoDB; the item layout is documented in [`crate::keys`].

use anyhow::anyhow;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;

use crate::dynamodb::transactions::{transact, Transacted};
use crate::dynamodb::{key, s, table_keys, Item};
use crate::keys::{ApiKeyRecord, KeyStore, KeyStoreError, MAX_KEYS_PER_TENANT};

/// API keys in the mcpflow table.
#[derive(Debug, Clone)]
pub struct DynamoDbKeyStore {
    client: Client,
    table: String,
}

impl DynamoDbKeyStore {
    #[must_use]
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

fn lookup_key(hash: &str) -> Item {
    key(&table_keys::api_key_lookup_partition(hash), table_keys::API_KEY_LOOKUP)
}

fn listing_key(tenant: &str, key_id: &str) -> Item {
    key(&table_keys::tenant_partition(tenant), &table_keys::api_key_sort(key_id))
}

fn to_item(r: &ApiKeyRecord, key: Item) -> Item {
    let mut item = key;
    for (k, v) in [
        ("key_id", &r.key_id),
        ("tenant", &r.tenant),
        ("name", &r.name),
        ("created_at", &r.created_at),
    ] {
        item.insert(k.into(), s(v));
    }
    item.insert("role".into(), s(r.role.as_str()));
    item.insert("hash".into(), s(&r.hash));
    item.insert("revoked".into(), AttributeValue::Bool(r.revoked));
    item
}

fn from_item(item: &Item) -> Result<ApiKeyRecord, KeyStoreError> {
    let get = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let need = |k: &str| get(k).ok_or_else(|| KeyStoreError::Unknown(anyhow!("API key item without {k}")));
    Ok(ApiKeyRecord {
        key_id: need("key_id")?,
        tenant: need("tenant")?,
        role: need("role")?
            .parse()
            .map_err(|e: String| KeyStoreError::Unknown(anyhow!(e)))?,
        name: need("name")?,
        created_at: need("created_at")?,
        last_used_at: get("last_used_at"),
        revoked: item
            .get("revoked")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(true),
        hash: need("hash")?,
    })
}

fn unknown<E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + Send + Sync + 'static>(
    e: aws_sdk_dynamodb::error::SdkError<E>,
) -> KeyStoreError {
    KeyStoreError::Unknown(crate::dynamodb::sdk_error(e))
}

impl DynamoDbKeyStore {
    fn put(&self, item: Item) -> Result<TransactWriteItem, KeyStoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| KeyStoreError::Unknown(e.into()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn revoke_update(&self, key: Item) -> Result<TransactWriteItem, KeyStoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("SET revoked = :t")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .build()
            .map_err(|e| KeyStoreError::Unknown(e.into()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

impl DynamoDbKeyStore {
    /// The tenant's key as its listing item holds it (the lookup item is keyed by the hash it holds).
    async fn listed(&self, tenant: &str, key_id: &str) -> Result<Option<ApiKeyRecord>, KeyStoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(listing_key(tenant, key_id)));
        let item = got.consistent_read(true).send().await.map_err(unknown)?.item;
        item.as_ref().map(from_item).transpose()
    }

    /// Both items of a key, changed together.
    async fn transact(&self, writes: Vec<aws_sdk_dynamodb::types::TransactWriteItem>) -> Result<(), KeyStoreError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map(drop)
            .map_err(unknown)
    }
}

impl DynamoDbKeyStore {
    /// Creates the key with `also` (written in the same transaction: all or nothing), unless the
    /// tenant holds [`MAX_KEYS_PER_TENANT`] keys: a `Query` of the tenant's keys, then one
    /// `TransactWriteItems`, sent again on contention or throttling
    /// ([`crate::dynamodb::transactions::transact`]). A key item that exists already is a
    /// [`KeyStoreError::Conflict`]; one of `also`'s, an error naming its place in `also`.
    pub(crate) async fn create_with(
        &self,
        record: &ApiKeyRecord,
        also: Vec<TransactWriteItem>,
    ) -> Result<(), KeyStoreError> {
        if self.list(&record.tenant).await?.len() >= MAX_KEYS_PER_TENANT {
            return Err(KeyStoreError::LimitReached);
        }
        let mut writes = vec![
            self.put(to_item(record, lookup_key(&record.hash)))?,
            self.put(to_item(record, listing_key(&record.tenant, &record.key_id)))?,
        ];
        let own = writes.len();
        writes.extend(also);
        match transact(&self.client, writes).await? {
            Transacted::Written => Ok(()),
            Transacted::Refused { item } if item < own => Err(KeyStoreError::Conflict(record.key_id.clone())),
            Transacted::Refused { item } => Err(KeyStoreError::Unknown(anyhow!(
                "item {} written with key {} exists already",
                item - own,
                record.key_id
            ))),
        }
    }
}

impl KeyStore for DynamoDbKeyStore {
    #[tracing::instrument(skip(self, record), fields(tenant = %record.tenant, key_id = %record.key_id))]
    async fn create(&self, record: &ApiKeyRecord) -> Result<(), KeyStoreError> {
        self.create_with(record, Vec::new()).await
    }

    #[tracing::instrument(skip_all)]
    async fn find_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRecord>, KeyStoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(lookup_key(hash)))
            .consistent_read(true);
        got.send()
            .await
            .map_err(unknown)?
            .item
            .as_ref()
            .map(from_item)
            .transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn list(&self, tenant: &str) -> Result<Vec<ApiKeyRecord>, KeyStoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(&table_keys::tenant_partition(tenant)))
            .expression_attribute_values(":prefix", s(&table_keys::prefix(&[table_keys::API_KEY_LOOKUP])))
            .limit(i32::try_from(MAX_KEYS_PER_TENANT).unwrap_or(100) + 1);
        let out = query.send().await.map_err(unknown)?;
        out.items().iter().map(from_item).collect()
    }

    #[tracing::instrument(skip(self))]
    async fn revoke(&self, tenant: &str, key_id: &str) -> Result<ApiKeyRecord, KeyStoreError> {
        let mut record = self
            .listed(tenant, key_id)
            .await?
            .ok_or_else(|| KeyStoreError::NotFound(key_id.to_owned()))?;
        let writes = vec![
            self.revoke_update(lookup_key(&record.hash))?,
            self.revoke_update(listing_key(tenant, key_id))?,
        ];
        self.transact(writes).await?;
        record.revoked = true;
        Ok(record)
    }

    /// One transaction deletes its lookup and listing items.
    #[tracing::instrument(skip(self))]
    async fn delete(&self, tenant: &str, key_id: &str) -> Result<bool, KeyStoreError> {
        let Some(record) = self.listed(tenant, key_id).await? else {
            return Ok(false);
        };
        let delete = |key| {
            let delete = aws_sdk_dynamodb::types::Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key))
                .build()
                .map_err(|e| KeyStoreError::Unknown(e.into()))?;
            Ok::<_, KeyStoreError>(
                aws_sdk_dynamodb::types::TransactWriteItem::builder()
                    .delete(delete)
                    .build(),
            )
        };
        let writes = vec![delete(lookup_key(&record.hash))?, delete(listing_key(tenant, key_id))?];
        self.transact(writes).await?;
        Ok(true)
    }

    #[tracing::instrument(skip(self))]
    async fn touch(&self, tenant: &str, key_id: &str, at: &str) -> Result<(), KeyStoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(listing_key(tenant, key_id)))
            .update_expression("SET last_used_at = :at")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", s(at));
        update.send().await.map(drop).map_err(unknown)
    }
}
