//! Why a conversation operation did not happen.

use crate::contexts::requests::Invalid;
use crate::conversation::store::StoreError;
/// Why an operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("{}; available: {}", model_problem(.model, .configured), .available.join(", "))]
    ModelNotFound {
        model: String,
        configured: bool,
        available: Vec<String>,
    },
    #[error("no context {0} (it may have expired)")]
    ContextNotFound(String),
    #[error("no task {0}")]
    TaskNotFound(String),
    #[error("no node {0}")]
    NodeNotFound(String),
    #[error("task {0} is already {1}")]
    TaskFinished(String, &'static str),
    #[error("task {0} is a pipeline stage: cancel its execution (POST /api/v1/pipelines/{{pipelineID}}/executions/{{executionID}}/cancel)")]
    StageTask(String),
    /// `owner` is the principal's subject: the quota is per API key or JWT subject.
    #[error(
        "this API key or JWT subject already has {max} live contexts, the most allowed; delete one or let one expire"
    )]
    ContextLimit { owner: String, max: usize },
    #[error("context {context} has reached its limit of {max} nodes")]
    ContextFull { context: String, max: usize },
    #[error("context {context} would hold more than {max} bytes of content (a prompt counts {allowance} bytes more for its reply)")]
    ContextTooLarge { context: String, max: u64, allowance: u64 },
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl From<StoreError> for ConversationError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::Unknown(anyhow::anyhow!("record vanished mid-operation")),
            StoreError::LimitReached(max) => Self::Unknown(anyhow::anyhow!("unexpected limit of {max} reached")),
            StoreError::SizeReached(max) => Self::Unknown(anyhow::anyhow!("unexpected size limit of {max} reached")),
            StoreError::Unknown(e) => Self::Unknown(e),
        }
    }
}

fn model_problem(model: &str, known: &bool) -> String {
    if *known {
        format!("model {model} is not available: its provider has no credential configured")
    } else {
        format!("unknown model {model}")
    }
}
