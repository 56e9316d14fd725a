//! The contexts' operations: create a context, read it, prompt it (its task is queued for the worker).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::model::Context;
use super::requests::{self as input, REPLY_ALLOWANCE_BYTES};
use super::store::{Claim, ContextStore, Quota, Reserved};
use crate::auth::Principal;
use crate::conversation::errors::ConversationError;
use crate::conversation::records::{new_context, user_node};
use crate::conversation::service::{stamp, unknown, Deps};
use crate::conversation::store::StoreError;
use crate::ids::new_id;
use crate::tasks::model::{Task, TaskStatus, TaskType};
use crate::tasks::store::{TaskQueue, TaskStore};

impl<C: ContextStore, T: TaskStore, Q: TaskQueue> Deps<C, T, Q> {
    /// Creates a context (recorded as a completed `mcp.create_context` task).
    ///
    /// # Errors
    /// [`ConversationError`] for a bad body, an unknown model or a store failure.
    pub async fn create_context(
        &self,
        principal: &Principal,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<(Context, Task), ConversationError> {
        let input = input::create_context(body, &self.limits)?;
        let model_id = input.model_id.clone().unwrap_or_else(|| self.default_model.clone());
        self.check_model(&model_id)?;
        let at = stamp(now);
        let id = new_id("ctx", now.timestamp_millis()).map_err(unknown)?;
        let expires_at = now.timestamp() + self.limits.context_ttl_secs;
        let context = new_context(principal, &id, &model_id, &input, &at, expires_at);
        if context.content_bytes() > self.limits.max_context_bytes {
            return Err(ConversationError::ContextTooLarge {
                context: id,
                max: self.limits.max_context_bytes,
                allowance: REPLY_ALLOWANCE_BYTES,
            });
        }
        let mut record = self.new_task(principal, TaskType::CreateContext, now, input.priority)?;
        (record.context_id, record.user_id, record.model_id) = (Some(id), input.user_id.clone(), Some(model_id));
        (record.status, record.started_at, record.finished_at) = (TaskStatus::Completed, Some(at.clone()), Some(at));
        // The quota is the caller's own: a user_id in the body is recorded, never trusted to pick it.
        self.store_within_quota(&context, &record, principal.subject.clone(), now)
            .await?;
        Ok((context, record))
    }

    /// Stores the context with the task that records its creation, unless its owner already has the
    /// most live contexts allowed.
    async fn store_within_quota(
        &self,
        context: &Context,
        record: &Task,
        owner: String,
        now: DateTime<Utc>,
    ) -> Result<(), ConversationError> {
        let quota = Quota {
            owner,
            max: self.limits.max_contexts_per_user,
            now: now.timestamp(),
        };
        match self.contexts.create(context, &quota, record).await {
            Err(StoreError::LimitReached(max)) => Err(ConversationError::ContextLimit {
                owner: quota.owner,
                max,
            }),
            other => Ok(other?),
        }
    }

    /// The tenant's context, unless it expired.
    ///
    /// # Errors
    /// [`ConversationError::ContextNotFound`] for a missing, foreign or expired context.
    pub async fn context(
        &self,
        principal: &Principal,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Context, ConversationError> {
        match self.contexts.get(&principal.tenant, id).await? {
            Some(c) if c.expires_at > now.timestamp() => Ok(c),
            _ => Err(ConversationError::ContextNotFound(id.to_owned())),
        }
    }

    /// Appends the prompt as a user node, reserves its reply's slot, records a pending
    /// `mcp.add_prompt` task and queues it by priority.
    ///
    /// # Errors
    /// [`ConversationError`] for a bad body, a missing context or a store or queue failure.
    pub async fn add_prompt(
        &self,
        principal: &Principal,
        context_id: &str,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<Task, ConversationError> {
        let input = input::prompt(body, &self.limits)?;
        let at = stamp(now);
        let bytes = input.prompt.len() as u64 + REPLY_ALLOWANCE_BYTES;
        let context = self.reserve(principal, context_id, (2, bytes), now).await?;
        let seq = context.first;
        let mut record = self.new_task(principal, TaskType::AddPrompt, now, input.priority)?;
        let task_id = record.task_id.clone();
        (record.context_id, record.user_id, record.model_id) = (
            Some(context_id.to_owned()),
            input.user_id,
            Some(context.model_id.clone()),
        );
        (record.reply_seq, record.stream) = (Some(seq + 1), input.stream);
        let user = user_node(seq, input.prompt, input.metadata, &task_id, &at, context_id);
        // The task, its prompt and its outbox entry in one write, then the message.
        self.create_and_queue(&record, Some((&user, context.expires_at, bytes)), context_id, now)
            .await?;
        Ok(record)
    }

    /// Reserves `count` sequence numbers and `bytes` of content of the unexpired context, within its
    /// node and size limits.
    pub(crate) async fn reserve(
        &self,
        principal: &Principal,
        context_id: &str,
        (count, bytes): (u64, u64),
        now: DateTime<Utc>,
    ) -> Result<Reserved, ConversationError> {
        let claim = Claim {
            count,
            bytes,
            max_nodes: self.limits.max_nodes_per_context,
            max_bytes: self.limits.max_context_bytes,
        };
        let now = (stamp(now), now.timestamp());
        match self
            .contexts
            .reserve(&principal.tenant, context_id, claim, (&now.0, now.1))
            .await
        {
            Err(StoreError::NotFound) => Err(ConversationError::ContextNotFound(context_id.to_owned())),
            Err(StoreError::LimitReached(max)) => Err(ConversationError::ContextFull {
                context: context_id.to_owned(),
                max,
            }),
            Err(StoreError::SizeReached(max)) => Err(ConversationError::ContextTooLarge {
                context: context_id.to_owned(),
                max,
                allowance: REPLY_ALLOWANCE_BYTES,
            }),
            other => Ok(other?),
        }
    }
}
