//! Tasks: their status, type, priority band and record.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Pending,
    Running,
    /// A pipeline stage's attempt failed or timed out; its next attempt starts after the backoff.
    Retrying,
    Completed,
    Failed,
    Cancelled,
}

impl TaskStatus {
    #[must_use]
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Retrying => "retrying",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskType {
    #[serde(rename = "mcp.create_context")]
    CreateContext,
    #[serde(rename = "mcp.add_prompt")]
    AddPrompt,
    #[serde(rename = "mcp.add_node")]
    AddNode,
    #[serde(rename = "mcp.delete_node")]
    DeleteNode,
    #[serde(rename = "mcp.delete_context")]
    DeleteContext,
    /// A prompt with no context (MCP `create_task`), answered by the worker.
    #[serde(rename = "ai.completion")]
    Completion,
    /// One attempt at a pipeline stage, run by an agent.
    #[serde(rename = "pipeline.stage")]
    PipelineStage,
}

impl TaskType {
    /// The name the API uses (`mcp.add_prompt`, `ai.completion`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateContext => "mcp.create_context",
            Self::AddPrompt => "mcp.add_prompt",
            Self::AddNode => "mcp.add_node",
            Self::DeleteNode => "mcp.delete_node",
            Self::DeleteContext => "mcp.delete_context",
            Self::Completion => "ai.completion",
            Self::PipelineStage => "pipeline.stage",
        }
    }
}

/// The queue band of a priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    High,
    Medium,
    Low,
}

/// Priority 1–10: 1–3 low, 4–7 medium, 8–10 high. `high`/`medium`/`low` are 8/5/2.
///
/// # Errors
/// A message naming the accepted values.
pub fn parse_priority(value: Option<&Value>) -> Result<u8, String> {
    let bad = || "priority must be high, medium, low or a whole number from 1 to 10".to_owned();
    match value {
        None | Some(Value::Null) => Ok(5),
        Some(Value::String(s)) => match s.as_str() {
            "high" => Ok(8),
            "medium" => Ok(5),
            "low" => Ok(2),
            _ => Err(bad()),
        },
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|n| (1..=10).contains(n))
            .map(|n| n as u8)
            .ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

#[must_use]
pub fn band(priority: u8) -> Band {
    match priority {
        8..=10 => Band::High,
        4..=7 => Band::Medium,
        _ => Band::Low,
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// A completion asked through an integration: the model configuration it runs with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationCall {
    pub integration_id: String,
    pub provider: String,
    pub provider_model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// The stack's variable holding the credential (`None`: the provider's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_env: Option<String>,
    /// The tenant's Secrets Manager secret holding the key, read by the worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_secret: Option<String>,
}

impl IntegrationCall {
    /// Its sampling parameters, as providers take them.
    #[must_use]
    pub fn sampling(&self) -> crate::providers::Sampling {
        crate::providers::Sampling {
            temperature: self.temperature,
            top_p: self.top_p,
            stop: self.stop.clone(),
        }
    }
}

/// An operation, recorded as a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub task_id: String,
    #[serde(skip)]
    pub tenant: String,
    #[serde(rename = "type")]
    pub task_type: TaskType,
    pub status: TaskStatus,
    pub priority: u8,
    pub context_id: Option<String>,
    pub user_id: Option<String>,
    pub model_id: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub attempts: u32,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub usage: Option<TokenUsage>,
    pub output: Option<String>,
    pub error: Option<String>,
    /// Why a failed task failed, as a stable code (`PROVIDER_TIMEOUT`, `PROVIDER_FAILED`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// For a standalone AI task: its prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// For a completion asked through an integration: its model configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration: Option<IntegrationCall>,
    /// For a completion sent as messages: the conversation to answer (its last message the user's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<crate::providers::Message>>,
    /// For a standalone AI task: the provider the caller asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_provider: Option<String>,
    /// Unix seconds: creation plus the task retention. DynamoDB's TTL removes the task after it, and
    /// until then it is answered as not found. `None` for tasks written before tasks expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Whether the reply is streamed to the WebSocket subscribers as it arrives (`completion_chunk`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    /// For a streamed task, once it has run: how its stream went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_stats: Option<StreamStats>,
    /// For a completion offered tools: the registered tools' names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// For a completion offered tools, once it has run: the tool rounds, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_rounds: Vec<ToolRound>,
    /// For a pipeline stage: what it is part of, what it was given and what its agent reported.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Box<StageWork>>,
    /// For a prompt: the sequence number reserved for its reply.
    #[serde(skip)]
    pub reply_seq: Option<u64>,
    /// While running: unix milliseconds after which another delivery may take it over.
    #[serde(skip)]
    pub lease_until: Option<i64>,
}

impl Task {
    /// A new pending task of `kind`, created at `created_at` and kept until `expires_at` (Unix
    /// seconds), with nothing else set yet.
    #[must_use]
    pub fn pending(
        task_id: String,
        tenant: String,
        kind: TaskType,
        priority: u8,
        created_at: String,
        expires_at: i64,
    ) -> Self {
        Self {
            task_id,
            tenant,
            task_type: kind,
            status: TaskStatus::Pending,
            priority,
            context_id: None,
            user_id: None,
            model_id: None,
            created_at,
            started_at: None,
            finished_at: None,
            attempts: 0,
            provider: None,
            model: None,
            usage: None,
            output: None,
            error: None,
            error_code: None,
            input: None,
            integration: None,
            messages: None,
            requested_provider: None,
            expires_at: Some(expires_at),
            stream: false,
            stream_stats: None,
            tools: Vec::new(),
            tool_rounds: Vec::new(),
            stage: None,
            reply_seq: None,
            lease_until: None,
        }
    }

    /// Whether a pipeline stage's task has attempts left after its current one.
    #[must_use]
    pub fn retries_left(&self) -> bool {
        self.stage
            .as_ref()
            .is_some_and(|w| u64::from(self.attempts) <= w.retry_count)
    }

    /// Whether the task's retention has run out at `now_secs` (DynamoDB's TTL deletes it later).
    #[must_use]
    pub fn expired(&self, now_secs: i64) -> bool {
        self.expires_at.is_some_and(|e| e <= now_secs)
    }
}

#[cfg(test)]
impl Task {
    /// A pending `ai.completion` task of tenant `acme`, for unit tests.
    pub(crate) fn example(id: &str) -> Self {
        let mut t: Self = serde_json::from_value(serde_json::json!({"task_id": id, "type": "ai.completion",
            "status": "pending", "priority": 5, "context_id": null, "user_id": null, "model_id": null,
            "created_at": "2026-11-22T10:00:00.000Z", "started_at": null, "finished_at": null, "attempts": 0,
            "provider": null, "model": null, "usage": null, "output": null, "error": null}))
        .unwrap_or_else(|e| panic!("{e}"));
        t.tenant = "acme".into();
        t
    }
}

/// A pipeline stage's side of a task: the brief's `pipeline_id`, `stage`, `payload`, `progress`,
/// `assigned_agent` and `logs`, with the agent's `result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageWork {
    pub pipeline_id: String,
    pub execution_id: String,
    /// The stage's name, and its index in the pipeline.
    pub stage: String,
    pub stage_index: usize,
    pub stage_type: String,
    /// What the agent works on: `input` (the pipeline's `input_data`, or what the stages it depends
    /// on returned) and the execution's `parameters`.
    pub payload: Value,
    pub timeout: u64,
    pub retry_count: u64,
    /// The agent of the current attempt; `None` before the first is assigned.
    pub assigned_agent: Option<String>,
    /// 0–1, as the agent last reported it.
    pub progress: f64,
    pub logs: Vec<LogLine>,
    /// What the agent returned on completion.
    pub result: Option<Value>,
    pub updated_at: String,
}

/// A line an agent reported with its progress, as the brief shows it: `timestamp`, `level`, `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    #[serde(alias = "at")]
    pub timestamp: String,
    #[serde(default = "LogLine::default_level")]
    pub level: String,
    pub message: String,
}

impl LogLine {
    /// The levels a line may have.
    pub const LEVELS: [&'static str; 4] = ["debug", "info", "warn", "error"];

    fn default_level() -> String {
        "info".into()
    }
}

/// One tool round of a completion: the calls the model asked for, each as it was run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolRound {
    /// From 1.
    pub round: u32,
    /// The calls that were run (at most `MAX_CALLS_PER_ROUND`).
    pub calls: Vec<ToolCallRecord>,
    /// Calls past those, answered "not run" and not kept.
    #[serde(default)]
    pub not_run: u32,
}

/// A tool call as it was run: what the model asked, and what the tool answered (its first
/// [`crate::completions::tools::RECORDED_BYTES`] bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallRecord {
    /// The provider's id of the call.
    pub id: String,
    pub name: String,
    pub arguments: serde_json::Value,
    pub result: String,
    /// Whether the result is an error the model was told of (the tool failed, refused the
    /// arguments, or is no longer registered).
    pub is_error: bool,
    /// How long the tool took.
    pub ms: u64,
}

/// How a streamed completion went, as the worker saw the provider's pieces arrive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamStats {
    /// Pieces received from the provider, over every attempt.
    pub chunks: u64,
    /// Attempts of the model's chain that streamed anything; past 1, the text started again.
    pub attempts: u32,
    /// From the first provider call to the first piece.
    pub first_chunk_ms: Option<u64>,
    /// Gaps between consecutive pieces of one attempt: median, 95th percentile, longest.
    pub gap_p50_ms: Option<u64>,
    pub gap_p95_ms: Option<u64>,
    pub gap_max_ms: Option<u64>,
    /// From the first provider call to the end of the stream (the last piece, or the failure).
    pub total_ms: u64,
}

/// Milliseconds between two RFC 3339 stamps.
#[must_use]
pub fn millis_between(from: &str, to: &str) -> Option<i64> {
    let from = chrono::DateTime::parse_from_rfc3339(from).ok()?;
    Some((chrono::DateTime::parse_from_rfc3339(to).ok()? - from).num_milliseconds())
}

/// Sets a task's final fields from how it ended.
pub fn apply_finish(task: &mut Task, now: &str, finish: &super::store::Finish) {
    use super::store::Finish;
    task.finished_at = Some(now.to_owned());
    task.lease_until = None;
    match finish {
        Finish::Completed {
            provider,
            model,
            usage,
            output,
            stream,
        } => {
            task.stream_stats = stream.as_deref().cloned();
            task.status = TaskStatus::Completed;
            task.provider = Some(provider.clone());
            task.model = Some(model.clone());
            task.usage = Some(*usage);
            task.output = Some(output.clone());
        }
        Finish::Failed { code, error, stream } => {
            task.stream_stats = stream.as_deref().cloned();
            task.status = TaskStatus::Failed;
            task.error_code = Some((*code).to_owned());
            task.error = Some(error.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn priorities_take_words_or_numbers_and_map_to_bands() {
        assert_eq!(parse_priority(Some(&json!("high"))), Ok(8));
        assert_eq!(parse_priority(Some(&json!(3))), Ok(3));
        assert_eq!(parse_priority(None), Ok(5));
        assert!(parse_priority(Some(&json!(11))).is_err());
        assert!(parse_priority(Some(&json!("urgent"))).is_err());
        assert_eq!((band(10), band(4), band(1)), (Band::High, Band::Medium, Band::Low));
    }

    #[test]
    fn a_task_without_stage_fields_reads_back_without_a_stage_and_a_stage_task_keeps_them() {
        let plain = Task::example("task_1");
        let text = serde_json::to_value(&plain).unwrap();
        assert!(text.get("pipeline_id").is_none(), "{text}");
        assert_eq!(serde_json::from_value::<Task>(text).unwrap().stage, None);
        let mut staged = plain;
        staged.stage = Some(Box::new(StageWork {
            pipeline_id: "pln_1".into(),
            execution_id: "exe_1".into(),
            stage: "ingest".into(),
            stage_index: 0,
            stage_type: "data-ingestion".into(),
            payload: json!({"input": {"rows": 3}}),
            timeout: 30,
            retry_count: 1,
            assigned_agent: Some("agt_1".into()),
            progress: 0.5,
            logs: vec![],
            result: None,
            updated_at: "2026-12-02T10:00:00.000Z".into(),
        }));
        let text = serde_json::to_value(&staged).unwrap();
        assert_eq!(
            (&text["pipeline_id"], &text["progress"]),
            (&json!("pln_1"), &json!(0.5))
        );
        assert_eq!(serde_json::from_value::<Task>(text).unwrap().stage, staged.stage);
    }

    #[test]
    fn task_type_names_are_the_names_the_api_reads_and_writes() {
        let all = [
            TaskType::CreateContext,
            TaskType::AddPrompt,
            TaskType::AddNode,
            TaskType::DeleteNode,
            TaskType::DeleteContext,
            TaskType::Completion,
            TaskType::PipelineStage,
        ];
        for kind in all {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
    }
}
