//! OpenAI-compatible chat completions (`POST {base}/chat/completions`): OpenAI, DeepSeek, or any base URL.

use std::time::Duration;

use serde_json::{json, Value};

use super::{
    arguments_of, error_from, for_each_event, streamed_calls, transport_error, ChatProvider, ChatRequest, ChatResponse,
    ProviderError, ToolCall, Usage,
};
use crate::secret::Secret;

/// A client of one OpenAI-compatible endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiCompatible {
    id: String,
    base_url: String,
    api_key: Secret,
    http: reqwest::Client,
    timeout: Duration,
}

impl OpenAiCompatible {
    /// # Errors
    /// When the HTTP client cannot be built (TLS set-up).
    pub fn new(id: &str, base_url: &str, api_key: Secret, timeout: Duration) -> Result<Self, reqwest::Error> {
        let http = crate::tls::client_builder().timeout(timeout).build()?;
        Ok(Self {
            id: id.to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            http,
            timeout,
        })
    }

    async fn send(&self, request: &ChatRequest, stream: bool) -> Result<reqwest::Response, ProviderError> {
        let mut body = json!({"model": request.model, "messages": messages(request),
                              "max_tokens": request.max_tokens, "stream": stream});
        if stream {
            body["stream_options"] = json!({"include_usage": true});
        }
        if !request.tools.is_empty() {
            let tools: Vec<Value> = request
                .tools
                .iter()
                .map(|t| {
                    json!({"type": "function", "function": {"name": t.name, "description": t.description,
                                                                  "parameters": t.input_schema}})
                })
                .collect();
            body["tools"] = json!(tools);
        }
        request.sampling.apply(&mut body, "stop");
        let mut post = self.http.post(format!("{}/chat/completions", self.base_url));
        // A server without keys (a local vLLM or Ollama) is configured without `credential_env`.
        if !self.api_key.expose().is_empty() {
            post = post.bearer_auth(self.api_key.expose());
        }
        let response = post
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error(&e, self.timeout))?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(error_from(response).await)
        }
    }

    fn finish(
        &self,
        request: &ChatRequest,
        (text, tool_calls): (String, Vec<ToolCall>),
        model: Option<&str>,
        usage: Usage,
        reason: Option<String>,
    ) -> ChatResponse {
        let model = model.unwrap_or(&request.model).to_owned();
        ChatResponse {
            text,
            provider: self.id.clone(),
            model,
            usage,
            finish_reason: reason,
            tool_calls,
        }
    }
}

/// The request's messages, then each tool round: the assistant's calls and a `tool` message per answer.
fn messages(request: &ChatRequest) -> Vec<Value> {
    let mut out: Vec<Value> = request
        .messages
        .iter()
        .map(|m| json!({"role": m.role, "content": m.content}))
        .collect();
    for turn in &request.turns {
        let calls: Vec<Value> = turn
            .calls
            .iter()
            .map(|c| {
                let arguments = c
                    .arguments
                    .as_str()
                    .map_or_else(|| c.arguments.to_string(), str::to_owned);
                json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": arguments}})
            })
            .collect();
        let text = (!turn.text.trim().is_empty()).then_some(turn.text.as_str());
        out.push(json!({"role": "assistant", "content": text, "tool_calls": calls}));
        out.extend(
            turn.results
                .iter()
                .map(|r| json!({"role": "tool", "tool_call_id": r.call_id, "content": r.content})),
        );
    }
    out
}

/// The tool calls of a whole message (`message.tool_calls`).
fn tool_calls(message: &Value) -> Vec<ToolCall> {
    message["tool_calls"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .map(|c| ToolCall {
                    id: c["id"].as_str().unwrap_or_default().to_owned(),
                    name: c["function"]["name"].as_str().unwrap_or_default().to_owned(),
                    arguments: arguments_of(c["function"]["arguments"].as_str().unwrap_or_default()),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The most tool calls one streamed answer may hold (an `index` past it is a malformed answer).
const MAX_STREAMED_CALLS: usize = 128;

/// Tool calls being streamed: `delta.tool_calls` pieces gathered by their `index`.
#[derive(Default)]
struct StreamedCalls(Vec<(String, String, String)>);

impl StreamedCalls {
    fn add(&mut self, delta: &Value) -> Result<(), ProviderError> {
        for piece in delta["tool_calls"].as_array().into_iter().flatten() {
            let index = piece["index"]
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .unwrap_or(self.0.len().saturating_sub(1));
            if index >= MAX_STREAMED_CALLS {
                return Err(ProviderError::Malformed(format!(
                    "a tool call index of {index}; at most {MAX_STREAMED_CALLS} calls"
                )));
            }
            if index >= self.0.len() {
                self.0.resize_with(index + 1, Default::default);
            }
            let (id, name, arguments) = &mut self.0[index];
            if let Some(v) = piece["id"].as_str() {
                v.clone_into(id);
            }
            name.push_str(piece["function"]["name"].as_str().unwrap_or_default());
            arguments.push_str(piece["function"]["arguments"].as_str().unwrap_or_default());
        }
        Ok(())
    }

    /// The calls gathered (an index the stream skipped names none, and is left out).
    fn calls(self) -> Vec<ToolCall> {
        streamed_calls(self.0.into_iter().filter(|(_, name, _)| !name.is_empty()))
    }
}

fn usage(v: &Value) -> Usage {
    let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    Usage {
        input_tokens: n("prompt_tokens"),
        output_tokens: n("completion_tokens"),
    }
}

impl ChatProvider for OpenAiCompatible {
    fn id(&self) -> &str {
        &self.id
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let response = self.send(request, false).await?;
        let body: Value = response
            .json()
            .await
            .map_err(|e| ProviderError::Malformed(e.to_string()))?;
        let choice = &body["choices"][0];
        let calls = tool_calls(&choice["message"]);
        let text = match choice["message"]["content"].as_str() {
            Some(text) => text,
            None if !calls.is_empty() => "",
            None => return Err(ProviderError::Malformed("no choices[0].message.content".into())),
        };
        let reason = choice["finish_reason"].as_str().map(str::to_owned);
        Ok(self.finish(
            request,
            (text.to_owned(), calls),
            body["model"].as_str(),
            usage(&body["usage"]),
            reason,
        ))
    }

    async fn stream(
        &self,
        request: &ChatRequest,
        on_chunk: &mut (dyn FnMut(&str) + Send),
    ) -> Result<ChatResponse, ProviderError> {
        let response = self.send(request, true).await?;
        let (mut text, mut model, mut totals, mut reason, mut done) =
            (String::new(), None, Usage::default(), None, false);
        let mut calls = StreamedCalls::default();
        for_each_event(response, self.timeout, |event| {
            if event.data == "[DONE]" {
                done = true;
                return Ok(());
            }
            let chunk: Value =
                serde_json::from_str(&event.data).map_err(|e| ProviderError::Malformed(e.to_string()))?;
            if let Some(piece) = chunk["choices"][0]["delta"]["content"].as_str() {
                on_chunk(piece);
                text.push_str(piece);
            }
            calls.add(&chunk["choices"][0]["delta"])?;
            reason = chunk["choices"][0]["finish_reason"]
                .as_str()
                .map(str::to_owned)
                .or(reason.take());
            model = chunk["model"].as_str().map(str::to_owned).or(model.take());
            if chunk["usage"].is_object() {
                totals = usage(&chunk["usage"]);
            }
            Ok(())
        })
        .await?;
        if !done {
            return Err(ProviderError::Malformed("the stream ended without [DONE]".into()));
        }
        Ok(self.finish(request, (text, calls.calls()), model.as_deref(), totals, reason))
    }
}

#[cfg(test)]
mod tests;
