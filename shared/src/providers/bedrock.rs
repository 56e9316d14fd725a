//! AWS Bedrock Converse (`ConverseStream` for streaming) with the function's IAM role. The SDK's own
//! retries are off: the worker's retry and fallback policy decides, as for every other provider.

use std::time::Duration;

use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::timeout::TimeoutConfig;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ContentBlockStart, ConversationRole, ConverseOutput, ConverseStreamOutput,
    InferenceConfiguration, Message as BedrockMessage, SystemContentBlock, TokenUsage, Tool, ToolConfiguration,
    ToolInputSchema, ToolResultBlock, ToolResultContentBlock, ToolResultStatus, ToolSpecification, ToolUseBlock,
};
use aws_sdk_bedrockruntime::Client;
use aws_smithy_types::{Document, Number};
use serde_json::Value;

use super::{streamed_calls, ChatProvider, ChatRequest, ChatResponse, ProviderError, Role, ToolCall, ToolTurn, Usage};

/// A client of the Bedrock Converse API.
#[derive(Debug, Clone)]
pub struct Bedrock {
    client: Client,
    timeout: Duration,
}

impl Bedrock {
    /// A client in `region`, from the function's AWS configuration; `endpoint` overrides where it
    /// connects (a VPC endpoint, or a local replay server).
    #[must_use]
    pub fn new(sdk: &aws_config::SdkConfig, region: &str, endpoint: Option<&str>, timeout: Duration) -> Self {
        let mut config = aws_sdk_bedrockruntime::config::Builder::from(sdk)
            .region(aws_sdk_bedrockruntime::config::Region::new(region.to_owned()))
            .retry_config(RetryConfig::disabled())
            .timeout_config(TimeoutConfig::builder().operation_timeout(timeout).build());
        if let Some(url) = endpoint {
            config = config.endpoint_url(url);
        }
        Self {
            client: Client::from_conf(config.build()),
            timeout,
        }
    }

    /// Builds the request parts: system prompts apart, the rest as user/assistant turns.
    fn parts(request: &ChatRequest) -> Result<(Vec<SystemContentBlock>, Vec<BedrockMessage>), ProviderError> {
        let mut system = Vec::new();
        let mut messages = Vec::new();
        for m in &request.messages {
            let role = match m.role {
                Role::System => {
                    system.push(SystemContentBlock::Text(m.content.clone()));
                    continue;
                }
                Role::User => ConversationRole::User,
                Role::Assistant => ConversationRole::Assistant,
            };
            let message = BedrockMessage::builder()
                .role(role)
                .content(ContentBlock::Text(m.content.clone()))
                .build()
                .map_err(|e| refused(&e.to_string()))?;
            messages.push(message);
        }
        for turn in &request.turns {
            messages.extend(turn_messages(turn)?);
        }
        Ok((system, messages))
    }

    /// The tools offered, as Converse's `toolConfig` (none without tools).
    fn tool_config(request: &ChatRequest) -> Result<Option<ToolConfiguration>, ProviderError> {
        if request.tools.is_empty() {
            return Ok(None);
        }
        let mut config = ToolConfiguration::builder();
        for tool in &request.tools {
            let spec = ToolSpecification::builder()
                .name(&tool.name)
                .description(&tool.description)
                .input_schema(ToolInputSchema::Json(document(&tool.input_schema)))
                .build()
                .map_err(|e| refused(&e.to_string()))?;
            config = config.tools(Tool::ToolSpec(spec));
        }
        config.build().map(Some).map_err(|e| refused(&e.to_string()))
    }

    fn inference(request: &ChatRequest) -> InferenceConfiguration {
        let max_tokens = i32::try_from(request.max_tokens).unwrap_or(i32::MAX);
        let sampling = &request.sampling;
        #[allow(clippy::cast_possible_truncation)] // Bedrock takes f32; the values are 0 to 2
        InferenceConfiguration::builder()
            .max_tokens(max_tokens)
            .set_temperature(sampling.temperature.map(|t| t as f32))
            .set_top_p(sampling.top_p.map(|p| p as f32))
            .set_stop_sequences((!sampling.stop.is_empty()).then(|| sampling.stop.clone()))
            .build()
    }

    fn response(&self, request: &ChatRequest) -> ChatResponse {
        ChatResponse {
            text: String::new(),
            provider: self.id().to_owned(),
            model: request.model.clone(),
            usage: Usage::default(),
            finish_reason: None,
            tool_calls: Vec::new(),
        }
    }
}

/// A tool round as Converse turns: the assistant's `toolUse` blocks, then a user turn of `toolResult`s.
fn turn_messages(turn: &ToolTurn) -> Result<[BedrockMessage; 2], ProviderError> {
    let built = |e: aws_smithy_types::error::operation::BuildError| refused(&e.to_string());
    let mut said = BedrockMessage::builder().role(ConversationRole::Assistant);
    if !turn.text.trim().is_empty() {
        said = said.content(ContentBlock::Text(turn.text.clone()));
    }
    for call in &turn.calls {
        let input = if call.arguments.is_object() {
            document(&call.arguments)
        } else {
            Document::Object(std::collections::HashMap::new())
        };
        let block = ToolUseBlock::builder()
            .tool_use_id(&call.id)
            .name(&call.name)
            .input(input)
            .build()
            .map_err(built)?;
        said = said.content(ContentBlock::ToolUse(block));
    }
    let mut answered = BedrockMessage::builder().role(ConversationRole::User);
    for result in &turn.results {
        let status = if result.is_error {
            ToolResultStatus::Error
        } else {
            ToolResultStatus::Success
        };
        let block = ToolResultBlock::builder()
            .tool_use_id(&result.call_id)
            .content(ToolResultContentBlock::Text(result.content.clone()))
            .status(status)
            .build()
            .map_err(built)?;
        answered = answered.content(ContentBlock::ToolResult(block));
    }
    Ok([said.build().map_err(built)?, answered.build().map_err(built)?])
}

/// A JSON value as a Smithy document.
fn document(value: &Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Number::PosInt(u),
            (None, Some(i)) => Number::NegInt(i),
            _ => Number::Float(n.as_f64().unwrap_or_default()),
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(document).collect()),
        Value::Object(map) => Document::Object(map.iter().map(|(k, v)| (k.clone(), document(v))).collect()),
    }
}

/// A Smithy document as a JSON value.
fn json_of(doc: &Document) -> Value {
    match doc {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => Value::from(*f),
        Document::String(s) => Value::String(s.clone()),
        Document::Array(items) => Value::Array(items.iter().map(json_of).collect()),
        Document::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), json_of(v))).collect()),
    }
}

fn refused(message: &str) -> ProviderError {
    ProviderError::Refused {
        status: 400,
        message: message.to_owned(),
    }
}

fn usage(u: &TokenUsage) -> Usage {
    Usage {
        input_tokens: u64::try_from(u.input_tokens()).unwrap_or(0),
        output_tokens: u64::try_from(u.output_tokens()).unwrap_or(0),
    }
}

/// Maps a Bedrock error code (as the service or a stream event names it) to a [`ProviderError`]:
/// throttling and the service's own failures are worth a retry; the rest are the caller's.
fn from_code(code: Option<&str>, message: Option<&str>, status: u16) -> ProviderError {
    match code {
        Some("ThrottlingException" | "ModelNotReadyException") => ProviderError::RateLimited { retry_after: None },
        Some(
            "InternalServerException"
            | "ServiceUnavailableException"
            | "ModelStreamErrorException"
            | "ModelTimeoutException",
        ) => ProviderError::Server {
            status: if status >= 500 { status } else { 503 },
        },
        _ => ProviderError::Refused {
            status,
            message: format!(
                "{}: {}",
                code.unwrap_or("error"),
                message.unwrap_or("no message").chars().take(500).collect::<String>()
            ),
        },
    }
}

/// Maps an SDK failure (of the call or of the stream) to a [`ProviderError`].
fn sdk_failure<E: ProvideErrorMetadata, R>(
    err: &SdkError<E, R>,
    status: Option<u16>,
    timeout: Duration,
) -> ProviderError {
    match err {
        SdkError::TimeoutError(_) => ProviderError::Timeout(timeout),
        SdkError::DispatchFailure(f) if f.is_timeout() => ProviderError::Timeout(timeout),
        SdkError::DispatchFailure(f) => ProviderError::Unreachable(format!("{:?}", f.as_other())),
        SdkError::ResponseError(_) => ProviderError::Malformed("the answer could not be read".into()),
        SdkError::ServiceError(e) => from_code(e.err().code(), e.err().message(), status.unwrap_or(400)),
        _ => refused("the request could not be built"),
    }
}

/// `toolUse` blocks being streamed: their block index, id, name and the JSON of their input so far.
type StreamedUses = Vec<(i32, String, String, String)>;

/// Applies one streamed event to the completion so far; `true` at `messageStop`.
fn apply(
    out: &mut ChatResponse,
    uses: &mut StreamedUses,
    event: ConverseStreamOutput,
    on_chunk: &mut (dyn FnMut(&str) + Send),
) -> bool {
    match event {
        ConverseStreamOutput::ContentBlockStart(s) => {
            if let Some(ContentBlockStart::ToolUse(u)) = s.start() {
                let index = s.content_block_index();
                uses.push((index, u.tool_use_id().to_owned(), u.name().to_owned(), String::new()));
            }
        }
        ConverseStreamOutput::ContentBlockDelta(d) => match d.delta() {
            Some(ContentBlockDelta::Text(piece)) => {
                on_chunk(piece);
                out.text.push_str(piece);
            }
            Some(ContentBlockDelta::ToolUse(u)) => {
                if let Some(call) = uses.iter_mut().find(|c| c.0 == d.content_block_index()) {
                    call.3.push_str(u.input());
                }
            }
            _ => {}
        },
        ConverseStreamOutput::MessageStop(s) => {
            out.finish_reason = Some(s.stop_reason().as_str().to_owned());
            out.tool_calls = streamed_calls(uses.drain(..).map(|(_, id, name, json)| (id, name, json)));
            return true;
        }
        ConverseStreamOutput::Metadata(m) => out.usage = m.usage().map(usage).unwrap_or_default(),
        _ => {} // messageStart, contentBlockStop
    }
    false
}

/// A failed call, with the HTTP status of the answer when there was one.
fn call_failure<E: ProvideErrorMetadata>(err: &SdkError<E>, timeout: Duration) -> ProviderError {
    let status = err.raw_response().map(|r| r.status().as_u16());
    sdk_failure(err, status, timeout)
}

impl ChatProvider for Bedrock {
    fn id(&self) -> &str {
        "bedrock"
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let (system, messages) = Self::parts(request)?;
        let call = self.client.converse().model_id(&request.model).set_system(Some(system));
        let sent = call
            .set_messages(Some(messages))
            .inference_config(Self::inference(request))
            .set_tool_config(Self::tool_config(request)?)
            .send()
            .await;
        let output = sent.map_err(|e| call_failure(&e, self.timeout))?;
        let Some(ConverseOutput::Message(message)) = output.output() else {
            return Err(ProviderError::Malformed("no message in the output".into()));
        };
        let mut out = self.response(request);
        out.text = message
            .content()
            .iter()
            .filter_map(|b| b.as_text().ok())
            .cloned()
            .collect();
        out.tool_calls = message
            .content()
            .iter()
            .filter_map(|b| b.as_tool_use().ok())
            .map(|u| ToolCall {
                id: u.tool_use_id().to_owned(),
                name: u.name().to_owned(),
                arguments: json_of(u.input()),
            })
            .collect();
        out.usage = output.usage().map(usage).unwrap_or_default();
        out.finish_reason = Some(output.stop_reason().as_str().to_owned());
        Ok(out)
    }

    async fn stream(
        &self,
        request: &ChatRequest,
        on_chunk: &mut (dyn FnMut(&str) + Send),
    ) -> Result<ChatResponse, ProviderError> {
        let (system, messages) = Self::parts(request)?;
        let call = self
            .client
            .converse_stream()
            .model_id(&request.model)
            .set_system(Some(system));
        let sent = call
            .set_messages(Some(messages))
            .inference_config(Self::inference(request))
            .set_tool_config(Self::tool_config(request)?)
            .send()
            .await;
        let mut events = sent.map_err(|e| call_failure(&e, self.timeout))?.stream;
        let mut out = self.response(request);
        let (mut stopped, mut uses) = (false, StreamedUses::new());
        while let Some(event) = events.recv().await.map_err(|e| sdk_failure(&e, None, self.timeout))? {
            stopped |= apply(&mut out, &mut uses, event, on_chunk);
        }
        if stopped {
            Ok(out)
        } else {
            Err(ProviderError::Malformed("the stream ended without messageStop".into()))
        }
    }
}

#[cfg(test)]
mod tests;
