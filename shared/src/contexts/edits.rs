//! Edits of a context — add a node, delete a node, delete the context — each recorded as a completed
//! task, and cancelling a task.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::contexts::requests as input;

use crate::auth::Principal;
use crate::contexts::model::Node;
use crate::contexts::requests::Limits;
use crate::contexts::store::{ContextEdits, ContextStore};
use crate::conversation::errors::ConversationError;
use crate::conversation::service::{node, stamp, unknown, Deps};
use crate::tasks::model::{Task, TaskStatus, TaskType};
use crate::tasks::store::{TaskCancel, TaskQueue, TaskStore};

impl<C: ContextStore + ContextEdits, T: TaskStore + TaskCancel, Q: TaskQueue> Deps<C, T, Q> {
    /// Records a quick operation as a task that completed in the request.
    async fn record(
        &self,
        principal: &Principal,
        kind: TaskType,
        context_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Task, ConversationError> {
        let at = stamp(now);
        let mut record = self.new_task(principal, kind, now, 5)?;
        record.context_id = Some(context_id.to_owned());
        (record.status, record.started_at, record.finished_at) = (TaskStatus::Completed, Some(at.clone()), Some(at));
        self.tasks.create(&record).await?;
        Ok(record)
    }

    /// `POST /contexts/{id}/nodes`: appends a node after everything reserved so far.
    ///
    /// # Errors
    /// [`ConversationError`] for a bad body, a missing context or a store failure.
    pub async fn add_node(
        &self,
        principal: &Principal,
        context_id: &str,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<(Node, Task), ConversationError> {
        let limits = Limits {
            max_nodes: 1,
            ..self.limits
        };
        let wrapped = serde_json::json!({ "nodes": [body] });
        let input = input::create_context(&wrapped, &limits).map_err(|mut e| {
            e.field = e.field.trim_start_matches("nodes[0].").to_owned();
            e
        })?;
        let Some(given) = input.nodes.into_iter().next() else {
            return Err(unknown("no node in the body"));
        };
        let bytes = given.content.len() as u64;
        let context = self.reserve(principal, context_id, (1, bytes), now).await?;
        let seq = context.first;
        let added = node(
            seq,
            given.content,
            given.content_type,
            given.metadata,
            &stamp(now),
            context_id,
        );
        self.contexts
            .put_node(&principal.tenant, context_id, &added, context.expires_at)
            .await?;
        Ok((added, self.record(principal, TaskType::AddNode, context_id, now).await?))
    }

    /// `DELETE /contexts/{id}/nodes/{nodeID}`.
    ///
    /// # Errors
    /// [`ConversationError::NodeNotFound`] or [`ConversationError::ContextNotFound`].
    pub async fn delete_node(
        &self,
        principal: &Principal,
        context_id: &str,
        node_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Task, ConversationError> {
        self.context(principal, context_id, now).await?;
        let missing = || ConversationError::NodeNotFound(node_id.to_owned());
        let seq = node_id
            .strip_prefix(&format!("{context_id}-"))
            .and_then(|s| s.parse().ok())
            .ok_or_else(missing)?;
        if !self.contexts.delete_node(&principal.tenant, context_id, seq).await? {
            return Err(missing());
        }
        self.record(principal, TaskType::DeleteNode, context_id, now).await
    }

    /// `DELETE /contexts/{id}`: the context and all its nodes.
    ///
    /// # Errors
    /// [`ConversationError::ContextNotFound`] when there is none.
    pub async fn delete_context(
        &self,
        principal: &Principal,
        context_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Task, ConversationError> {
        if !self.contexts.delete(&principal.tenant, context_id).await? {
            return Err(ConversationError::ContextNotFound(context_id.to_owned()));
        }
        self.record(principal, TaskType::DeleteContext, context_id, now).await
    }
}

#[cfg(test)]
mod tests;
