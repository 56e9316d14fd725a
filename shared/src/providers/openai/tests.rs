//! The OpenAI-compatible client against replayed chat-completions answers.

use serde_json::json;

use super::*;
use crate::providers::replay::{serve, Answer};
use crate::providers::{Message, Role, Sampling};

fn request() -> ChatRequest {
    ChatRequest {
        model: "gpt-4o-mini".into(),
        messages: vec![
            Message {
                role: Role::System,
                content: "Be brief.".into(),
            },
            Message {
                role: Role::User,
                content: "Capital of France?".into(),
            },
        ],
        max_tokens: 50,
        sampling: Sampling {
            temperature: Some(0.25),
            top_p: Some(0.5),
            stop: vec!["END".into()],
        },
    }
}

fn client(base: &str) -> OpenAiCompatible {
    OpenAiCompatible::new("openai", base, Secret::new("sk-test".into()), Duration::from_secs(5)).unwrap()
}

#[tokio::test]
async fn a_completion_returns_text_usage_and_model_and_sends_the_key_as_bearer() {
    let body = json!({"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 14, "completion_tokens": 2, "total_tokens": 16}});
    let (base, received) = serve(vec![Answer::json(200, &body)]).await;
    let out = client(&base).complete(&request()).await.unwrap();
    assert_eq!(
        (out.text.as_str(), out.model.as_str(), out.provider.as_str()),
        ("Paris.", "gpt-4o-mini-2024-07-18", "openai")
    );
    assert_eq!(
        out.usage,
        Usage {
            input_tokens: 14,
            output_tokens: 2
        }
    );
    let sent = &received.lock().unwrap()[0];
    assert_eq!(sent.path, "/chat/completions");
    assert_eq!(sent.headers["authorization"], "Bearer sk-test");
    assert_eq!(
        sent.body["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    let sampled = (&sent.body["temperature"], &sent.body["top_p"], &sent.body["stop"]);
    assert_eq!(sampled, (&json!(0.25), &json!(0.5), &json!(["END"])));
}

#[tokio::test]
async fn a_stream_delivers_each_delta_and_the_final_usage() {
    let chunk = |content: &str| {
        format!(
            "data: {}\n\n",
            json!({"model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
        )
    };
    let (first, second) = (chunk("Par"), chunk("is."));
    let (a, b) = first.split_at(17);
    let end = format!(
        "data: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        json!({"choices": [], "usage": {"prompt_tokens": 14, "completion_tokens": 2}})
    );
    let (base, received) = serve(vec![Answer::sse(&[a, b, &second, &end])]).await;
    let mut pieces = Vec::new();
    let out = client(&base)
        .stream(&request(), &mut |p| pieces.push(p.to_owned()))
        .await
        .unwrap();
    assert_eq!(pieces, ["Par", "is."]);
    assert_eq!(
        (out.text.as_str(), out.finish_reason.as_deref()),
        ("Paris.", Some("stop"))
    );
    assert_eq!(out.usage.output_tokens, 2);
    assert_eq!(received.lock().unwrap()[0].body["stream"], true);
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retryable_and_say_when() {
    let limited = Answer {
        status: 429,
        headers: vec![("retry-after", "7")],
        chunks: vec!["{}".into()],
    };
    let (base, _) = serve(vec![limited, Answer::json(500, &json!({"error": "boom"}))]).await;
    let err = client(&base).complete(&request()).await.unwrap_err();
    assert_eq!(
        err,
        ProviderError::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert!(err.is_retryable());
    let err = client(&base).complete(&request()).await.unwrap_err();
    assert_eq!(err, ProviderError::Server { status: 500 });
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_malformed_body_or_a_cut_stream_is_an_error_not_an_answer() {
    let cut = Answer::sse(&["data: {\"choices\":[{\"delta\":{\"content\":\"Pa\"}}]}\n\n"]);
    let (base, _) = serve(vec![Answer::json(200, &json!({"choices": []})), cut]).await;
    assert!(matches!(
        client(&base).complete(&request()).await,
        Err(ProviderError::Malformed(_))
    ));
    let err = client(&base).stream(&request(), &mut |_| {}).await.unwrap_err();
    assert_eq!(err, ProviderError::Malformed("the stream ended without [DONE]".into()));
}

#[tokio::test]
async fn a_refused_request_is_not_retryable_and_an_unreachable_provider_is() {
    let (base, _) = serve(vec![Answer::json(
        401,
        &json!({"error": {"message": "Incorrect API key"}}),
    )])
    .await;
    let err = client(&base).complete(&request()).await.unwrap_err();
    assert!(matches!(&err, ProviderError::Refused { status: 401, message } if message.contains("Incorrect API key")));
    assert!(!err.is_retryable());
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = client(&format!("http://{closed}"))
        .complete(&request())
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Unreachable(_)), "{err:?}");
}
