//! [`IntegrationStore`] in memory, for unit tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::store::{check, IntegrationStore, Page, Written};
use super::{Integration, IntegrationError, Precondition, Spec, MAX_INTEGRATIONS_PER_TENANT};

/// Integrations by tenant and id (ids sort by creation).
#[derive(Debug, Default)]
pub struct InMemoryIntegrations {
    items: Mutex<BTreeMap<(String, String), Integration>>,
}

impl InMemoryIntegrations {
    fn items(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Integration>> {
        self.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn key(tenant: &str, id: &str) -> (String, String) {
    (tenant.to_owned(), id.to_owned())
}

fn not_found(id: &str) -> IntegrationError {
    IntegrationError::NotFound(id.to_owned())
}

impl IntegrationStore for InMemoryIntegrations {
    async fn put(&self, integration: &Integration) -> Result<(), IntegrationError> {
        let mut items = self.items();
        if items.keys().filter(|(t, _)| *t == integration.tenant).count() >= MAX_INTEGRATIONS_PER_TENANT {
            return Err(IntegrationError::LimitReached);
        }
        items.insert(
            key(&integration.tenant, &integration.integration_id),
            integration.clone(),
        );
        Ok(())
    }

    async fn get(&self, tenant: &str, integration_id: &str) -> Result<Option<Integration>, IntegrationError> {
        Ok(self.items().get(&key(tenant, integration_id)).cloned())
    }

    async fn page(&self, tenant: &str, limit: usize, after: Option<&str>) -> Result<Page, IntegrationError> {
        let items = self.items();
        let mut newest_first = items
            .iter()
            .rev()
            .filter(|((t, id), _)| t == tenant && after.is_none_or(|a| id.as_str() < a))
            .map(|(_, i)| i.clone());
        let integrations: Vec<Integration> = newest_first.by_ref().take(limit).collect();
        let more = newest_first.next().is_some();
        let next_cursor = integrations.last().filter(|_| more).map(|i| i.integration_id.clone());
        Ok(Page {
            integrations,
            next_cursor,
        })
    }

    async fn replace(
        &self,
        tenant: &str,
        integration_id: &str,
        spec: &Spec,
        written: &Written,
        expected: Precondition,
    ) -> Result<Integration, IntegrationError> {
        let mut items = self.items();
        let item = items
            .get_mut(&key(tenant, integration_id))
            .ok_or_else(|| not_found(integration_id))?;
        check(integration_id, item.version, expected)?;
        item.spec = spec.clone();
        item.version += 1;
        item.updated_at.clone_from(&written.at);
        item.updated_by.clone_from(&written.by);
        Ok(item.clone())
    }

    async fn delete(&self, tenant: &str, integration_id: &str, expected: Precondition) -> Result<(), IntegrationError> {
        let mut items = self.items();
        let item = items
            .get(&key(tenant, integration_id))
            .ok_or_else(|| not_found(integration_id))?;
        check(integration_id, item.version, expected)?;
        items.remove(&key(tenant, integration_id));
        Ok(())
    }
}
