//! LLM providers behind one trait: OpenAI-compatible chat completions, Anthropic Messages, AWS Bedrock
//! Converse, and the deterministic `local` stand-in. Each client can stream (SSE) and reports errors a worker can act
//! on: retry 429/5xx/timeouts (honouring `Retry-After`), give up on the rest. A provider that cannot
//! be reached is an error, never a made-up answer.

pub mod anthropic;
pub mod bedrock;
pub mod credentials;
pub mod local;
pub mod openai;
pub mod registry;
pub mod retry;
pub mod sse;

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// A completion request, in the provider's own model name.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    pub max_tokens: u32,
    pub sampling: Sampling,
    /// Tools the model may call (none: it is offered none).
    pub tools: Vec<ToolSpec>,
    /// The tool rounds so far, after `messages`: what the model asked and what the tools answered.
    pub turns: Vec<ToolTurn>,
}

/// What a completion is asked: the messages, the tools offered, and the tool rounds so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversation {
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    pub turns: Vec<ToolTurn>,
}

impl From<Vec<Message>> for Conversation {
    fn from(messages: Vec<Message>) -> Self {
        Self {
            messages,
            ..Self::default()
        }
    }
}

/// A tool offered to the model: its name, what it does, and its arguments' JSON Schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub input_schema: serde_json::Value,
}

/// A call of a tool the model asked for: the provider's id for it, the tool, and its arguments (a
/// JSON object; arguments the model wrote as unreadable JSON are kept as a string, for the tool's
/// schema check to refuse).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: serde_json::Value,
}

/// What a tool answered one call, as text for the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    pub call_id: String,
    pub content: String,
    pub is_error: bool,
}

/// One tool round: the model's text and calls, and the tools' answers (one per call, in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolTurn {
    pub text: String,
    pub calls: Vec<ToolCall>,
    pub results: Vec<ToolOutput>,
}

/// Tool calls gathered from a stream, each `(id, name, the JSON of its arguments)`.
pub(crate) fn streamed_calls(calls: impl IntoIterator<Item = (String, String, String)>) -> Vec<ToolCall> {
    calls
        .into_iter()
        .map(|(id, name, json)| ToolCall {
            id,
            name,
            arguments: arguments_of(&json),
        })
        .collect()
}

/// Arguments a model streamed or sent as a JSON string: the object they spell, else the string itself.
pub(crate) fn arguments_of(text: &str) -> serde_json::Value {
    if text.trim().is_empty() {
        return serde_json::json!({});
    }
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_owned()))
}

/// How the model samples, when the caller says (an integration's `parameters`); each provider's
/// own default otherwise.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sampling {
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// Sequences that end the reply.
    pub stop: Vec<String>,
}

impl Sampling {
    /// Sets the parameters that are given on a JSON request `body`: `temperature`, `top_p`, and
    /// the stop sequences under `stop_key` (the provider's name for them).
    pub fn apply(&self, body: &mut serde_json::Value, stop_key: &str) {
        if let Some(t) = self.temperature {
            body["temperature"] = serde_json::json!(t);
        }
        if let Some(p) = self.top_p {
            body["top_p"] = serde_json::json!(p);
        }
        if !self.stop.is_empty() {
            body[stop_key] = serde_json::json!(self.stop);
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// A completion: the text, the tool calls the model asks for (none: this is its answer), who
/// produced it, and what it cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatResponse {
    pub text: String,
    pub provider: String,
    pub model: String,
    pub usage: Usage,
    pub finish_reason: Option<String>,
    pub tool_calls: Vec<ToolCall>,
}

/// A piece of a streamed completion: the attempt of the model's chain that produced it (from 1; a
/// later attempt starts the text again), its text, and when it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub attempt: u32,
    pub text: String,
    pub at: std::time::Instant,
}

/// Why a provider gave no completion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("rate limited (429){}", retry_hint(*.retry_after))]
    RateLimited { retry_after: Option<Duration> },
    #[error("server error ({status})")]
    Server { status: u16 },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("could not connect: {0}")]
    Unreachable(String),
    #[error("request refused ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("malformed answer: {0}")]
    Malformed(String),
    #[error("not configured (no credential)")]
    NotConfigured,
}

fn retry_hint(after: Option<Duration>) -> String {
    after
        .map(|d| format!(", retry after {} s", d.as_secs()))
        .unwrap_or_default()
}

impl ProviderError {
    /// 429, 5xx, timeouts and connection failures are worth another try; the rest are not.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Server { .. } | Self::Timeout(_) | Self::Unreachable(_)
        )
    }
}

/// Port: one LLM provider.
pub trait ChatProvider: Send + Sync {
    /// The provider's id in the model catalog (`openai`, `anthropic`, `local`, …).
    fn id(&self) -> &str;

    fn complete(&self, request: &ChatRequest) -> impl Future<Output = Result<ChatResponse, ProviderError>> + Send;

    /// Streams the completion, calling `on_chunk` with each piece of text as it arrives, and returns
    /// the whole completion at the end.
    fn stream(
        &self,
        request: &ChatRequest,
        on_chunk: &mut (dyn FnMut(&str) + Send),
    ) -> impl Future<Output = Result<ChatResponse, ProviderError>> + Send;
}

/// Maps a non-success HTTP answer to a [`ProviderError`].
pub(crate) async fn error_from(response: reqwest::Response) -> ProviderError {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    match status {
        429 => ProviderError::RateLimited { retry_after },
        500..=599 => ProviderError::Server { status },
        _ => {
            let body = response.text().await.unwrap_or_default();
            ProviderError::Refused {
                status,
                message: body.chars().take(500).collect(),
            }
        }
    }
}

/// Maps a transport failure to a [`ProviderError`].
pub(crate) fn transport_error(err: &reqwest::Error, timeout: Duration) -> ProviderError {
    if err.is_timeout() {
        ProviderError::Timeout(timeout)
    } else {
        ProviderError::Unreachable(err.to_string())
    }
}

/// Reads a streamed answer as SSE events, handing each to `on_event`.
pub(crate) async fn for_each_event(
    response: reqwest::Response,
    timeout: Duration,
    mut on_event: impl FnMut(sse::Event) -> Result<(), ProviderError>,
) -> Result<(), ProviderError> {
    use futures::StreamExt as _;
    let mut parser = sse::Parser::default();
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| transport_error(&e, timeout))?;
        for event in parser.feed(&chunk) {
            on_event(event)?;
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod replay;
