//! The `local` provider: deterministic and offline, for development and tests. Its answers are
//! computed from the prompt (never presented as an LLM's) and always say `provider: "local"`.

use super::{ChatProvider, ChatRequest, ChatResponse, ProviderError, Role, Usage};

/// The deterministic stand-in.
#[derive(Debug, Clone, Default)]
pub struct LocalProvider;

fn answer(request: &ChatRequest) -> String {
    let last = request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map_or("", |m| m.content.as_str());
    let words = last.split_whitespace().count();
    format!(
        "[local stand-in, not an LLM] {} message(s) received; the last user message has {words} word(s): {last}",
        request.messages.len()
    )
}

impl ChatProvider for LocalProvider {
    fn id(&self) -> &str {
        "local"
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let text = answer(request);
        let input = request
            .messages
            .iter()
            .map(|m| m.content.split_whitespace().count() as u64)
            .sum();
        let usage = Usage {
            input_tokens: input,
            output_tokens: text.split_whitespace().count() as u64,
        };
        Ok(ChatResponse {
            text,
            provider: "local".into(),
            model: request.model.clone(),
            usage,
            finish_reason: Some("stop".into()),
            // The stand-in calls no tools: it answers as if none were offered.
            tool_calls: Vec::new(),
        })
    }

    async fn stream(
        &self,
        request: &ChatRequest,
        on_chunk: &mut (dyn FnMut(&str) + Send),
    ) -> Result<ChatResponse, ProviderError> {
        let response = self.complete(request).await?;
        for piece in response.text.split_inclusive(' ') {
            on_chunk(piece);
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::Message;

    #[tokio::test]
    async fn the_same_prompt_gives_the_same_labelled_answer_and_streams_it_whole() {
        let request = ChatRequest {
            model: "echo".into(),
            messages: vec![Message {
                role: Role::User,
                content: "What is the capital of France?".into(),
            }],
            max_tokens: 100,
            sampling: crate::providers::Sampling::default(),
            tools: Vec::new(),
            turns: Vec::new(),
        };
        let a = LocalProvider.complete(&request).await.unwrap();
        let mut streamed = String::new();
        let b = LocalProvider
            .stream(&request, &mut |c| streamed.push_str(c))
            .await
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(streamed, a.text);
        assert_eq!(a.provider, "local");
        assert!(a.text.starts_with("[local stand-in, not an LLM]") && a.text.ends_with("capital of France?"));
    }
}
