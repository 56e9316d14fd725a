//! The records the operations write, as they are first made: a pending task, a context with its
//! nodes, a node, a prompt's user node.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::auth::Principal;
use crate::contexts::model::{ContentType, Context, Node};
use crate::contexts::requests as input;
use crate::conversation::errors::ConversationError;
use crate::conversation::service::{stamp, unknown, Deps};
use crate::ids::new_id;
use crate::tasks::model::{Task, TaskType};

impl<C, T, Q> Deps<C, T, Q> {
    /// A new pending task of `kind`, with a fresh id, created `now` and kept for the task retention.
    pub(crate) fn new_task(
        &self,
        principal: &Principal,
        kind: TaskType,
        now: DateTime<Utc>,
        priority: u8,
    ) -> Result<Task, ConversationError> {
        Ok(Task::pending(
            new_id("task", now.timestamp_millis()).map_err(unknown)?,
            principal.tenant.to_string(),
            kind,
            priority,
            stamp(now),
            now.timestamp() + self.limits.task_retention_secs,
        ))
    }
}

pub(crate) fn node(
    seq: u64,
    content: String,
    content_type: ContentType,
    metadata: Map<String, Value>,
    now: &str,
    id: &str,
) -> Node {
    Node {
        node_id: format!("{id}-{seq}"),
        seq,
        content,
        content_type,
        metadata,
        created_at: now.to_owned(),
    }
}

pub(crate) fn new_context(
    principal: &Principal,
    id: &str,
    model_id: &str,
    input: &input::CreateContext,
    at: &str,
    expires_at: i64,
) -> Context {
    let nodes = input.nodes.iter().enumerate();
    let nodes = nodes.map(|(i, n)| {
        node(
            i as u64 + 1,
            n.content.clone(),
            n.content_type,
            n.metadata.clone(),
            at,
            id,
        )
    });
    Context {
        context_id: id.to_owned(),
        tenant: principal.tenant.to_string(),
        model_id: model_id.to_owned(),
        user_id: input.user_id.clone(),
        metadata: input.metadata.clone(),
        created_at: at.to_owned(),
        updated_at: at.to_owned(),
        expires_at,
        nodes: nodes.collect(),
    }
}

/// The prompt's user node, naming the task that answers it.
pub(crate) fn user_node(
    seq: u64,
    prompt: String,
    mut metadata: Map<String, Value>,
    task_id: &str,
    at: &str,
    id: &str,
) -> Node {
    metadata.insert("role".into(), "user".into());
    metadata.insert("task_id".into(), Value::from(task_id.to_owned()));
    node(seq, prompt, ContentType::Text, metadata, at, id)
}
