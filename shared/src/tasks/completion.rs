//! Standalone AI tasks (MCP `create_task`): a prompt with no context, queued by priority and
//! answered by the worker like a context's prompt, its reply kept on the task.

use chrono::{DateTime, Utc};

use crate::auth::Principal;
use crate::contexts::requests::Invalid;
use crate::contexts::store::ContextStore;
use crate::conversation::errors::ConversationError;
use crate::conversation::service::{unknown, Deps};
use crate::tasks::model::{Task, TaskType};
use crate::tasks::store::{TaskQueue, TaskStore};

/// A standalone task, as a caller asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub prompt: String,
    /// `None`: the catalog's default model.
    pub model: Option<String>,
    pub priority: u8,
    /// When given, the model's chain must include this provider.
    pub provider: Option<String>,
}

fn invalid(field: &str, message: String) -> ConversationError {
    ConversationError::Invalid(Invalid {
        field: field.to_owned(),
        message,
    })
}

impl<C: ContextStore, T: TaskStore, Q: TaskQueue> Deps<C, T, Q> {
    /// The model's chain includes the provider.
    fn check_provider(&self, model_id: &str, provider: &str) -> Result<(), ConversationError> {
        let chain = self.providers.chain(model_id).map_err(unknown)?;
        if chain.iter().any(|(_, p, _)| p == provider) {
            return Ok(());
        }
        let served: Vec<&str> = chain.iter().map(|(_, p, _)| p.as_str()).collect();
        Err(invalid(
            "provider",
            format!("model {model_id} is served by {}, not {provider}", served.join(", ")),
        ))
    }

    /// Records a pending `ai.completion` task and queues it.
    ///
    /// # Errors
    /// [`ConversationError`] for an empty or oversized prompt, an unknown model, a provider outside
    /// the model's chain, or a store or queue failure.
    pub async fn create_task(
        &self,
        principal: &Principal,
        new: NewTask,
        now: DateTime<Utc>,
    ) -> Result<Task, ConversationError> {
        let chars = new.prompt.chars().count();
        if new.prompt.trim().is_empty() || chars > self.limits.max_task_prompt_chars {
            let max = self.limits.max_task_prompt_chars;
            return Err(invalid("prompt", format!("must be 1 to {max} characters, got {chars}")));
        }
        let model_id = new.model.clone().unwrap_or_else(|| self.default_model.clone());
        self.check_model(&model_id)?;
        if let Some(provider) = &new.provider {
            self.check_provider(&model_id, provider)?;
        }
        self.queue_completion(principal, new.priority, now, |record| {
            (record.model_id, record.input, record.requested_provider) =
                (Some(model_id), Some(new.prompt), new.provider);
        })
        .await
    }

    /// Records a pending `ai.completion` task, as `fill` completes it, and queues it in a group of
    /// its own (`create_task`, and `POST /api/v1/completions`).
    ///
    /// # Errors
    /// A store or queue failure.
    pub(crate) async fn queue_completion(
        &self,
        principal: &Principal,
        priority: u8,
        now: DateTime<Utc>,
        fill: impl FnOnce(&mut Task),
    ) -> Result<Task, ConversationError> {
        let mut record = self.new_task(principal, TaskType::Completion, now, priority)?;
        fill(&mut record);
        let group = record.task_id.clone();
        self.create_and_queue(&record, None, &group, now).await?;
        Ok(record)
    }

    /// Records a pending `ai.completion` task, as `fill` completes it, and takes it for the caller to
    /// run (a streamed completion): its message is sent only should the caller die
    /// ([`Deps::create_and_take`]). `None` when something else took it first.
    ///
    /// # Errors
    /// A store failure.
    pub(crate) async fn take_completion(
        &self,
        principal: &Principal,
        priority: u8,
        (now, lease_ms): (DateTime<Utc>, i64),
        fill: impl FnOnce(&mut Task),
    ) -> Result<Option<Task>, ConversationError> {
        let mut record = self.new_task(principal, TaskType::Completion, now, priority)?;
        fill(&mut record);
        let group = record.task_id.clone();
        self.create_and_take(&record, &group, now, lease_ms).await
    }
}
