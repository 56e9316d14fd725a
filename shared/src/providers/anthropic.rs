//! Anthropic Messages (`POST {base}/messages`, `anthropic-version: 2023-06-01`).

use std::time::Duration;

use serde_json::{json, Value};

use super::{
    error_from, for_each_event, streamed_calls, transport_error, ChatProvider, ChatRequest, ChatResponse,
    ProviderError, Role, ToolCall, Usage,
};
use crate::secret::Secret;

const VERSION: &str = "2023-06-01";

/// A client of the Anthropic Messages API.
#[derive(Debug, Clone)]
pub struct Anthropic {
    base_url: String,
    api_key: Secret,
    http: reqwest::Client,
    timeout: Duration,
}

impl Anthropic {
    /// # Errors
    /// When the HTTP client cannot be built (TLS set-up).
    pub fn new(base_url: &str, api_key: Secret, timeout: Duration) -> Result<Self, reqwest::Error> {
        let http = crate::tls::client_builder().timeout(timeout).build()?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            http,
            timeout,
        })
    }

    /// System messages go in `system`; the rest alternate user/assistant in `messages`, each tool
    /// round an assistant message of `tool_use` blocks and a user message of their `tool_result`s.
    fn body(request: &ChatRequest, stream: bool) -> Value {
        let system: Vec<&str> = request
            .messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(|m| m.content.as_str())
            .collect();
        let mut messages: Vec<Value> = request
            .messages
            .iter()
            .filter(|m| m.role != Role::System)
            .map(|m| json!({"role": m.role, "content": m.content}))
            .collect();
        for turn in &request.turns {
            let text = (!turn.text.trim().is_empty()).then(|| json!({"type": "text", "text": turn.text}));
            let uses = turn.calls.iter().map(|c| {
                let input = if c.arguments.is_object() {
                    c.arguments.clone()
                } else {
                    json!({})
                };
                json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input})
            });
            let content: Vec<Value> = text.into_iter().chain(uses).collect();
            messages.push(json!({"role": "assistant", "content": content}));
            let results: Vec<Value> = turn
                .results
                .iter()
                .map(|r| {
                    json!({"type": "tool_result", "tool_use_id": r.call_id, "content": r.content,
                                "is_error": r.is_error})
                })
                .collect();
            messages.push(json!({"role": "user", "content": results}));
        }
        let mut body = json!({"model": request.model, "max_tokens": request.max_tokens, "messages": messages,
                              "stream": stream});
        if !request.tools.is_empty() {
            let tools: Vec<Value> = request
                .tools
                .iter()
                .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.input_schema}))
                .collect();
            body["tools"] = json!(tools);
        }
        if !system.is_empty() {
            body["system"] = json!(system.join("\n\n"));
        }
        request.sampling.apply(&mut body, "stop_sequences");
        body
    }

    async fn send(&self, request: &ChatRequest, stream: bool) -> Result<reqwest::Response, ProviderError> {
        let response = self
            .http
            .post(format!("{}/messages", self.base_url))
            .header("x-api-key", self.api_key.expose())
            .header("anthropic-version", VERSION)
            .json(&Self::body(request, stream))
            .send()
            .await
            .map_err(|e| transport_error(&e, self.timeout))?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(error_from(response).await)
        }
    }
}

fn malformed(what: &str) -> ProviderError {
    ProviderError::Malformed(what.to_owned())
}

/// An `error` event mid-stream: overloaded and API errors are the server's, worth a retry.
fn stream_error(data: &Value) -> ProviderError {
    match data["error"]["type"].as_str() {
        Some("overloaded_error") => ProviderError::Server { status: 529 },
        Some("rate_limit_error") => ProviderError::RateLimited { retry_after: None },
        Some("api_error") => ProviderError::Server { status: 500 },
        other => ProviderError::Refused {
            status: 400,
            message: other.unwrap_or("unknown error").to_owned(),
        },
    }
}

/// `tool_use` blocks being streamed: their block index, id, name and the JSON of their input so far.
type StreamedUses = Vec<(u64, String, String, String)>;

/// Applies one streamed event to the completion so far; `true` at `message_stop`.
fn apply(
    out: &mut ChatResponse,
    uses: &mut StreamedUses,
    data: &Value,
    on_chunk: &mut (dyn FnMut(&str) + Send),
) -> Result<bool, ProviderError> {
    let index = data["index"].as_u64().unwrap_or_default();
    match data["type"].as_str().unwrap_or_default() {
        "message_start" => {
            out.model = data["message"]["model"].as_str().unwrap_or(&out.model).to_owned();
            out.usage.input_tokens = data["message"]["usage"]["input_tokens"].as_u64().unwrap_or(0);
        }
        "content_block_start" if data["content_block"]["type"] == "tool_use" => {
            let block = &data["content_block"];
            let text = |k: &str| block[k].as_str().unwrap_or_default().to_owned();
            uses.push((index, text("id"), text("name"), String::new()));
        }
        "content_block_delta" => {
            if let Some(piece) = data["delta"]["text"].as_str() {
                on_chunk(piece);
                out.text.push_str(piece);
            }
            if let Some(json) = data["delta"]["partial_json"].as_str() {
                if let Some(call) = uses.iter_mut().find(|u| u.0 == index) {
                    call.3.push_str(json);
                }
            }
        }
        "message_delta" => {
            out.finish_reason = data["delta"]["stop_reason"].as_str().map(str::to_owned);
            out.usage.output_tokens = data["usage"]["output_tokens"].as_u64().unwrap_or(0);
        }
        "message_stop" => {
            out.tool_calls = streamed_calls(uses.drain(..).map(|(_, id, name, json)| (id, name, json)));
            return Ok(true);
        }
        "error" => return Err(stream_error(data)),
        _ => {} // ping, content_block_start (text), content_block_stop
    }
    Ok(false)
}

impl ChatProvider for Anthropic {
    fn id(&self) -> &str {
        "anthropic"
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let body: Value = self
            .send(request, false)
            .await?
            .json()
            .await
            .map_err(|e| malformed(&e.to_string()))?;
        let blocks = body["content"]
            .as_array()
            .ok_or_else(|| malformed("no content array"))?;
        let text: String = blocks.iter().filter_map(|b| b["text"].as_str()).collect();
        let tool_calls = blocks
            .iter()
            .filter(|b| b["type"] == "tool_use")
            .map(|b| ToolCall {
                id: b["id"].as_str().unwrap_or_default().to_owned(),
                name: b["name"].as_str().unwrap_or_default().to_owned(),
                arguments: b["input"].clone(),
            })
            .collect();
        let n = |k: &str| body["usage"][k].as_u64().unwrap_or(0);
        Ok(ChatResponse {
            text,
            provider: "anthropic".into(),
            model: body["model"].as_str().unwrap_or(&request.model).to_owned(),
            usage: Usage {
                input_tokens: n("input_tokens"),
                output_tokens: n("output_tokens"),
            },
            finish_reason: body["stop_reason"].as_str().map(str::to_owned),
            tool_calls,
        })
    }

    async fn stream(
        &self,
        request: &ChatRequest,
        on_chunk: &mut (dyn FnMut(&str) + Send),
    ) -> Result<ChatResponse, ProviderError> {
        let response = self.send(request, true).await?;
        let mut out = ChatResponse {
            text: String::new(),
            provider: "anthropic".into(),
            model: request.model.clone(),
            usage: Usage::default(),
            finish_reason: None,
            tool_calls: Vec::new(),
        };
        let (mut stopped, mut uses) = (false, StreamedUses::new());
        for_each_event(response, self.timeout, |event| {
            let data: Value = serde_json::from_str(&event.data).map_err(|e| malformed(&e.to_string()))?;
            stopped |= apply(&mut out, &mut uses, &data, on_chunk)?;
            Ok(())
        })
        .await?;
        if stopped {
            Ok(out)
        } else {
            Err(malformed("the stream ended without message_stop"))
        }
    }
}

#[cfg(test)]
mod tests;
