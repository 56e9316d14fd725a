//! In-memory stores and queue for unit tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::contexts::model::{Context, Node};

use crate::contexts::store::{Claim, ContextEdits, ContextStore, Quota, Reserved};
use crate::conversation::store::StoreError;
use crate::tasks::model::{Band, Task, TaskStatus};
use crate::tasks::store::{Finish, Start, TaskCancel, TaskMessage, TaskQueue, TaskStore, Unsent};
/// In-memory stores and queue for unit tests. Clones share one state, as the stores of one table do
/// (a task's transaction writes its prompt node too).
#[derive(Debug, Default, Clone)]
pub struct InMemory(std::sync::Arc<State>);

impl std::ops::Deref for InMemory {
    type Target = State;

    fn deref(&self) -> &State {
        &self.0
    }
}

/// What the in-memory stores hold.
#[derive(Debug, Default)]
pub struct State {
    contexts: Mutex<BTreeMap<(String, String), (Context, u64)>>,
    /// Each context's quota owner.
    owners: Mutex<BTreeMap<(String, String), String>>,
    pub(crate) tasks: Mutex<BTreeMap<(String, String), Task>>,
    /// Queued messages with their band and group.
    pub queued: Mutex<Vec<(Band, TaskMessage)>>,
    pub groups: Mutex<Vec<String>>,
    /// Content bytes charged to each context by reservations.
    pub bytes: Mutex<std::collections::HashMap<(String, String), u64>>,
    /// The outbox: queued tasks whose message is not known to be sent.
    pub unsent: Mutex<Vec<Unsent>>,
}

impl InMemory {
    /// A started or cancelled task leaves the outbox, as its DynamoDB write removes its entry.
    fn out_of_outbox(&self, tenant: &str, id: &str) {
        lock(&self.unsent).retain(|u| u.message.tenant != tenant || u.message.task_id != id);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ContextStore for InMemory {
    async fn create(&self, context: &Context, quota: &Quota, record: &Task) -> Result<(), StoreError> {
        let mut contexts = lock(&self.contexts);
        let mut owners = lock(&self.owners);
        let live = owners
            .iter()
            .filter(|(key, o)| key.0 == context.tenant && **o == quota.owner)
            .filter(|(key, _)| contexts.get(*key).is_some_and(|(c, _)| c.expires_at > quota.now))
            .count();
        if live >= quota.max {
            return Err(StoreError::LimitReached(quota.max));
        }
        owners.insert(
            (context.tenant.clone(), context.context_id.clone()),
            quota.owner.clone(),
        );
        let next = context.nodes.len() as u64 + 1;
        contexts.insert(
            (context.tenant.clone(), context.context_id.clone()),
            (context.clone(), next),
        );
        lock(&self.tasks).insert((record.tenant.clone(), record.task_id.clone()), record.clone());
        Ok(())
    }

    async fn get(&self, tenant: &str, id: &str) -> Result<Option<Context>, StoreError> {
        Ok(lock(&self.contexts)
            .get(&(tenant.to_owned(), id.to_owned()))
            .map(|(c, _)| c.clone()))
    }

    async fn reserve(&self, tenant: &str, id: &str, claim: Claim, now: (&str, i64)) -> Result<Reserved, StoreError> {
        let mut contexts = lock(&self.contexts);
        let (context, next) = contexts
            .get_mut(&(tenant.to_owned(), id.to_owned()))
            .filter(|(c, _)| c.expires_at > now.1)
            .ok_or(StoreError::NotFound)?;
        if *next + claim.count > claim.max_nodes + 1 {
            return Err(StoreError::LimitReached(
                usize::try_from(claim.max_nodes).unwrap_or(usize::MAX),
            ));
        }
        let mut bytes = lock(&self.bytes);
        let used = bytes
            .entry((tenant.to_owned(), id.to_owned()))
            .or_insert_with(|| context.content_bytes());
        if *used + claim.bytes > claim.max_bytes {
            return Err(StoreError::SizeReached(claim.max_bytes));
        }
        *used += claim.bytes;
        let first = *next;
        *next += claim.count;
        context.updated_at = now.0.to_owned();
        Ok(Reserved {
            first,
            model_id: context.model_id.clone(),
            expires_at: context.expires_at,
        })
    }

    async fn put_node(&self, tenant: &str, id: &str, node: &Node, _expires_at: i64) -> Result<bool, StoreError> {
        let mut contexts = lock(&self.contexts);
        let (context, _) = contexts
            .get_mut(&(tenant.to_owned(), id.to_owned()))
            .ok_or(StoreError::NotFound)?;
        if context.nodes.iter().any(|n| n.seq == node.seq) {
            return Ok(false);
        }
        context.nodes.push(node.clone());
        context.nodes.sort_by_key(|n| n.seq);
        Ok(true)
    }
}

impl TaskStore for InMemory {
    async fn create(&self, task: &Task) -> Result<(), StoreError> {
        lock(&self.tasks).insert((task.tenant.clone(), task.task_id.clone()), task.clone());
        Ok(())
    }

    async fn create_queued(&self, task: &Task, node: Option<(&Node, i64)>, unsent: &Unsent) -> Result<(), StoreError> {
        // All or nothing, as the transaction: the task is new, so only the node's write can fail.
        if let (Some((node, expires_at)), Some(context)) = (node, task.context_id.as_deref()) {
            if !self.put_node(&task.tenant, context, node, expires_at).await? {
                return Err(StoreError::Unknown(anyhow::anyhow!("node {} exists", node.seq)));
            }
        }
        TaskStore::create(self, task).await?;
        lock(&self.unsent).push(unsent.clone());
        Ok(())
    }

    async fn withdraw(&self, task: &Task, prompt: Option<(&Node, u64)>, unsent: &Unsent) -> Result<bool, StoreError> {
        let key = (task.tenant.clone(), task.task_id.clone());
        {
            let mut tasks = lock(&self.tasks);
            if tasks.get(&key).is_none_or(|t| t.status != TaskStatus::Pending) {
                return Ok(false);
            }
            tasks.remove(&key);
        }
        lock(&self.unsent).retain(|u| u.message != unsent.message);
        if let (Some((node, bytes)), Some(context)) = (prompt, task.context_id.as_deref()) {
            let context = (task.tenant.clone(), context.to_owned());
            if let Some((c, _)) = lock(&self.contexts).get_mut(&context) {
                c.nodes.retain(|n| n.seq != node.seq);
            }
            if let Some(used) = lock(&self.bytes).get_mut(&context) {
                *used = used.saturating_sub(bytes);
            }
        }
        Ok(true)
    }

    async fn sent(&self, unsent: &Unsent) -> Result<(), StoreError> {
        lock(&self.unsent).retain(|u| u.message != unsent.message);
        Ok(())
    }

    async fn unsent(&self, before_ms: i64, limit: usize) -> Result<Vec<Unsent>, StoreError> {
        let mut old: Vec<Unsent> = lock(&self.unsent)
            .iter()
            .filter(|u| u.since_ms < before_ms)
            .cloned()
            .collect();
        old.sort_by_key(|u| u.since_ms);
        old.truncate(limit);
        Ok(old)
    }

    async fn get(&self, tenant: &str, id: &str) -> Result<Option<Task>, StoreError> {
        Ok(lock(&self.tasks).get(&(tenant.to_owned(), id.to_owned())).cloned())
    }

    async fn start(&self, tenant: &str, id: &str, now: &str, now_ms: i64, lease_ms: i64) -> Result<Start, StoreError> {
        let start = self.take(tenant, id, now, now_ms, lease_ms).await?;
        if matches!(start, Start::Started(_)) {
            self.out_of_outbox(tenant, id);
        }
        Ok(start)
    }

    async fn take(&self, tenant: &str, id: &str, now: &str, now_ms: i64, lease_ms: i64) -> Result<Start, StoreError> {
        let mut tasks = lock(&self.tasks);
        let task = tasks
            .get_mut(&(tenant.to_owned(), id.to_owned()))
            .ok_or(StoreError::NotFound)?;
        if task.status.is_finished() {
            return Ok(Start::Finished(task.clone()));
        }
        if task.status == TaskStatus::Running && task.lease_until.is_some_and(|l| l > now_ms) {
            return Ok(Start::Leased);
        }
        task.status = TaskStatus::Running;
        task.attempts += 1;
        task.started_at.get_or_insert_with(|| now.to_owned());
        task.lease_until = Some(now_ms + lease_ms);
        Ok(Start::Started(task.clone()))
    }

    async fn finish(
        &self,
        started: &Task,
        now: &str,
        finish: &Finish,
        reply: Option<(&Node, i64)>,
    ) -> Result<bool, StoreError> {
        let key = (started.tenant.clone(), started.task_id.clone());
        let runs = |t: &Task| t.status == TaskStatus::Running && t.attempts == started.attempts;
        if !lock(&self.tasks).get(&key).ok_or(StoreError::NotFound).map(runs)? {
            return Ok(false);
        }
        // All or nothing, as the transaction: the task still runs, so only the reply's write can fail.
        if let (Some((node, expires_at)), Some(context)) = (reply, started.context_id.as_deref()) {
            if !self.put_node(&started.tenant, context, node, expires_at).await? {
                return Ok(false);
            }
        }
        let mut tasks = lock(&self.tasks);
        let task = tasks.get_mut(&key).ok_or(StoreError::NotFound)?;
        // As DynamoDB's: the write is the started task (with what its runner added) finished.
        task.clone_from(started);
        crate::tasks::model::apply_finish(task, now, finish);
        Ok(true)
    }
}

impl TaskQueue for InMemory {
    async fn enqueue(&self, band: Band, group: &str, message: &TaskMessage) -> anyhow::Result<()> {
        lock(&self.queued).push((band, message.clone()));
        lock(&self.groups).push(group.to_owned());
        Ok(())
    }
}

impl ContextEdits for InMemory {
    async fn delete_node(&self, tenant: &str, id: &str, seq: u64) -> Result<bool, StoreError> {
        let mut contexts = lock(&self.contexts);
        let Some((context, _)) = contexts.get_mut(&(tenant.to_owned(), id.to_owned())) else {
            return Ok(false);
        };
        let before = context.nodes.len();
        context.nodes.retain(|n| n.seq != seq);
        Ok(context.nodes.len() < before)
    }

    async fn delete(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        lock(&self.owners).remove(&(tenant.to_owned(), id.to_owned()));
        Ok(lock(&self.contexts)
            .remove(&(tenant.to_owned(), id.to_owned()))
            .is_some())
    }
}

impl TaskCancel for InMemory {
    async fn cancel(&self, tenant: &str, id: &str, now: &str) -> Result<Option<Task>, StoreError> {
        let mut tasks = lock(&self.tasks);
        let Some(task) = tasks.get_mut(&(tenant.to_owned(), id.to_owned())) else {
            return Ok(None);
        };
        if !task.status.is_finished() {
            task.status = TaskStatus::Cancelled;
            task.finished_at = Some(now.to_owned());
            task.lease_until = None;
        }
        let task = task.clone();
        drop(tasks);
        self.out_of_outbox(tenant, id);
        Ok(Some(task))
    }
}

impl crate::contexts::listing::ContextListing for InMemory {
    async fn list_contexts(
        &self,
        tenant: &str,
        limit: usize,
        after: Option<&str>,
        now_secs: i64,
    ) -> Result<(Vec<crate::contexts::listing::ContextSummary>, Option<String>), StoreError> {
        let contexts = lock(&self.contexts);
        let mine = contexts.iter().rev().filter(|((t, id), (c, _))| {
            t == tenant && after.is_none_or(|a| id.as_str() < a) && c.expires_at > now_secs
        });
        let page: Vec<_> = mine
            .take(limit + 1)
            .map(|((_, id), (c, _))| (id.clone(), c.clone()))
            .collect();
        let more = page.len() > limit;
        let items: Vec<_> = page.into_iter().take(limit).collect();
        let last = items.last().filter(|_| more).map(|(id, _)| id.clone());
        let items = items
            .into_iter()
            .map(|(_, c)| crate::contexts::listing::ContextSummary {
                context_id: c.context_id,
                model_id: c.model_id,
                user_id: c.user_id,
                created_at: c.created_at,
                expires_at: c.expires_at,
            })
            .collect();
        Ok((items, last))
    }
}

impl crate::tasks::listing::TaskListing for InMemory {
    async fn list_tasks(
        &self,
        tenant: &str,
        filter: &crate::tasks::listing::TaskFilter,
        limit: usize,
        after: Option<&str>,
        now_secs: i64,
    ) -> Result<(Vec<Task>, Option<String>), StoreError> {
        let tasks = lock(&self.tasks);
        let mine = tasks.iter().rev().filter(|((t, id), task)| {
            t == tenant && after.is_none_or(|a| id.as_str() < a) && filter.matches(task) && !task.expired(now_secs)
        });
        let page: Vec<Task> = mine.take(limit + 1).map(|(_, t)| t.clone()).collect();
        let more = page.len() > limit;
        let items: Vec<Task> = page.into_iter().take(limit).collect();
        let last = items.last().filter(|_| more).map(|t| t.task_id.clone());
        Ok((items, last))
    }
}

impl super::service::Deps<InMemory, InMemory, InMemory> {
    /// In-memory stores, the built-in model catalog without credentials (so the `local` model),
    /// default limits: the dependencies of unit tests.
    ///
    /// # Errors
    /// When the built-in catalog does not load.
    pub fn in_memory() -> anyhow::Result<Self> {
        let catalog = crate::models::ModelCatalog::builtin()?;
        let timeout = std::time::Duration::from_secs(1);
        let state = InMemory::default();
        Ok(Self {
            contexts: state.clone(),
            tasks: state.clone(),
            queue: state,
            providers: crate::providers::registry::Providers::new(&catalog, &BTreeMap::new(), timeout, None)?,
            default_model: "local-echo".into(),
            limits: crate::contexts::requests::Limits::default(),
            updates: None,
            metrics: None,
            tool_specs: None,
            tools: None,
        })
    }
}
