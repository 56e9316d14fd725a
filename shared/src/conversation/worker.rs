//! The worker's half of a prompt: take the task (conditionally), ask the model's provider chain,
//! write the reply into its reserved slot, finish the task. Safe under redelivery: a finished task is
//! acknowledged and left alone, a leased one is left to its owner, and the reply slot is written once.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::model::{ContentType, Context, Node, Task, TaskType, TokenUsage};
use super::service::{stamp, ConversationError, Deps};
use super::store::{ContextEdits, ContextStore, Finish, Start, TaskMessage, TaskQueue, TaskStore};
use crate::providers::retry::RetryPolicy;
use crate::providers::{ChatResponse, Message, Role};

/// Longest reply asked of a provider.
pub const MAX_REPLY_TOKENS: u32 = 1024;

/// What processing a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processed {
    Completed,
    Failed,
    /// Finished before (a redelivery): acknowledge.
    AlreadyFinished,
    /// Another delivery holds the lease: let SQS deliver it again later.
    Busy,
    /// An earlier prompt of the context is not answered yet: this one waits its turn.
    Waiting,
}

fn history(context: &Context, before: u64) -> Vec<Message> {
    let role = |n: &Node| match n.role() {
        "system" => Role::System,
        "assistant" => Role::Assistant,
        _ => Role::User,
    };
    context
        .nodes
        .iter()
        .filter(|n| n.seq < before)
        .map(|n| Message {
            role: role(n),
            content: n.content.clone(),
        })
        .collect()
}

fn reply(task: &Task, seq: u64, response: &ChatResponse, now: &str) -> Node {
    let mut metadata = Map::new();
    metadata.insert("role".into(), "assistant".into());
    metadata.insert("provider".into(), Value::from(response.provider.clone()));
    metadata.insert("model".into(), Value::from(response.model.clone()));
    metadata.insert("task_id".into(), Value::from(task.task_id.clone()));
    let id = task.context_id.clone().unwrap_or_default();
    Node {
        node_id: format!("{id}-{seq}"),
        seq,
        content: response.text.clone(),
        content_type: ContentType::Text,
        metadata,
        created_at: now.to_owned(),
    }
}

impl<C: ContextStore + ContextEdits, T: TaskStore, Q: TaskQueue> Deps<C, T, Q> {
    /// Processes one queued task.
    ///
    /// # Errors
    /// Only store failures (the message is then retried); provider failures fail the task.
    pub async fn process(
        &self,
        message: &TaskMessage,
        now: DateTime<Utc>,
        lease_ms: i64,
        policy: RetryPolicy,
    ) -> Result<Processed, ConversationError> {
        match self.tasks.get(&message.tenant, &message.task_id).await? {
            None => return Ok(Processed::AlreadyFinished),
            Some(t) if t.status.is_finished() => return Ok(Processed::AlreadyFinished),
            Some(t) if !self.turn_ready(&t).await? => return Ok(Processed::Waiting),
            Some(_) => {}
        }
        let at = stamp(now);
        let task = match self
            .tasks
            .start(&message.tenant, &message.task_id, &at, now.timestamp_millis(), lease_ms)
            .await
        {
            Ok(Start::Started(task)) => task,
            Ok(Start::Finished(_)) => return Ok(Processed::AlreadyFinished),
            Ok(Start::Leased) => return Ok(Processed::Busy),
            Err(super::store::StoreError::NotFound) => return Ok(Processed::AlreadyFinished),
            Err(e) => return Err(e.into()),
        };
        let finish = self.answer(&task, now, policy).await?;
        let done = matches!(finish, Finish::Completed { .. });
        let at = stamp(chrono::Utc::now());
        if !self
            .tasks
            .finish(&task.tenant, &task.task_id, task.attempts, &at, &finish)
            .await?
            && self.discard_if_cancelled(&task).await?
        {
            return Ok(Processed::AlreadyFinished);
        }
        Ok(if done { Processed::Completed } else { Processed::Failed })
    }

    /// After a finish that did not take: whether the task was cancelled meanwhile, its late reply
    /// now deleted.
    async fn discard_if_cancelled(&self, task: &Task) -> Result<bool, ConversationError> {
        // Not ours any more: cancelled meanwhile (discard the late reply), or taken over after our
        // lease ran out (the same slot holds the same reply; leave it).
        let now_task = self.tasks.get(&task.tenant, &task.task_id).await?;
        if let (Some(t), Some(ctx), Some(seq)) = (now_task, task.context_id.as_deref(), task.reply_seq) {
            if t.status == super::model::TaskStatus::Cancelled {
                self.contexts.delete_node(&task.tenant, ctx, seq).await?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether every earlier prompt of the context has its reply, or its task is finished (a failed
    /// or cancelled prompt leaves its slot empty).
    async fn turn_ready(&self, task: &Task) -> Result<bool, ConversationError> {
        let (Some(context_id), Some(reply_seq)) = (task.context_id.as_deref(), task.reply_seq) else {
            return Ok(true);
        };
        let Some(context) = self.contexts.get(&task.tenant, context_id).await? else {
            return Ok(true);
        };
        let earlier = context
            .nodes
            .iter()
            .filter(|n| n.role() == "user" && n.seq + 1 < reply_seq);
        for prompt in earlier {
            let answered = context.nodes.iter().any(|n| n.seq == prompt.seq + 1);
            let Some(earlier_task) = prompt.metadata.get("task_id").and_then(Value::as_str) else {
                continue;
            };
            if answered || earlier_task == task.task_id {
                continue;
            }
            if self
                .tasks
                .get(&task.tenant, earlier_task)
                .await?
                .is_some_and(|t| !t.status.is_finished())
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A standalone task's answer: its prompt alone, the reply kept on the task.
    async fn answer_alone(&self, task: &Task, policy: RetryPolicy) -> Finish {
        let Some(prompt) = task.input.clone() else {
            return Finish::Failed {
                error: "the task has no prompt".into(),
            };
        };
        let model_id = task.model_id.clone().unwrap_or_else(|| self.default_model.clone());
        let messages = vec![Message {
            role: Role::User,
            content: prompt,
        }];
        match self
            .providers
            .complete(&model_id, messages, MAX_REPLY_TOKENS, policy)
            .await
        {
            Ok(response) => completed(response),
            Err(e) => Finish::Failed { error: e.to_string() },
        }
    }

    async fn answer(&self, task: &Task, now: DateTime<Utc>, policy: RetryPolicy) -> Result<Finish, ConversationError> {
        if task.task_type == TaskType::Completion {
            return Ok(self.answer_alone(task, policy).await);
        }
        let (Some(context_id), Some(seq)) = (task.context_id.as_deref(), task.reply_seq) else {
            return Ok(Finish::Failed {
                error: "the task has no context or reply slot".into(),
            });
        };
        let Some(context) = self.contexts.get(&task.tenant, context_id).await? else {
            return Ok(Finish::Failed {
                error: format!("context {context_id} no longer exists"),
            });
        };
        let model_id = task.model_id.clone().unwrap_or_else(|| context.model_id.clone());
        let response = match self
            .providers
            .complete(&model_id, history(&context, seq), MAX_REPLY_TOKENS, policy)
            .await
        {
            Ok(r) => r,
            Err(e) => return Ok(Finish::Failed { error: e.to_string() }),
        };
        let at = stamp(now);
        self.contexts
            .put_node(
                &task.tenant,
                context_id,
                &reply(task, seq, &response, &at),
                context.expires_at,
            )
            .await?;
        Ok(completed(response))
    }
}

fn completed(response: ChatResponse) -> Finish {
    let usage = TokenUsage {
        input_tokens: response.usage.input_tokens,
        output_tokens: response.usage.output_tokens,
    };
    Finish::Completed {
        provider: response.provider,
        model: response.model,
        usage,
        output: response.text,
    }
}
