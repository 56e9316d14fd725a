//! OpenAI-compatible chat completions (`POST {base}/chat/completions`): OpenAI, DeepSeek, or any base URL.

use std::time::Duration;

use serde_json::{json, Value};

use super::{
    error_from, for_each_event, transport_error, ChatProvider, ChatRequest, ChatResponse, ProviderError, Usage,
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
        let mut body = json!({"model": request.model, "messages": request.messages,
                              "max_tokens": request.max_tokens, "stream": stream});
        if stream {
            body["stream_options"] = json!({"include_usage": true});
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
        text: String,
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
        }
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
        let text = choice["message"]["content"]
            .as_str()
            .ok_or_else(|| ProviderError::Malformed("no choices[0].message.content".into()))?;
        let reason = choice["finish_reason"].as_str().map(str::to_owned);
        Ok(self.finish(
            request,
            text.to_owned(),
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
        Ok(self.finish(request, text, model.as_deref(), totals, reason))
    }
}

#[cfg(test)]
mod tests;
