//! The Anthropic client against replayed Messages answers.

use serde_json::json;

use super::*;
use crate::providers::replay::{serve, Answer};
use crate::providers::{Message, Sampling};

fn request() -> ChatRequest {
    ChatRequest {
        model: "claude-sonnet-4-5".into(),
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

fn client(base: &str) -> Anthropic {
    Anthropic::new(base, Secret::new("sk-ant-test".into()), Duration::from_secs(5)).unwrap()
}

#[tokio::test]
async fn a_message_returns_text_and_usage_and_system_goes_in_its_own_field() {
    let body = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "Paris."}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 12, "output_tokens": 3}});
    let (base, received) = serve(vec![Answer::json(200, &body)]).await;
    let out = client(&base).complete(&request()).await.unwrap();
    assert_eq!(
        (out.text.as_str(), out.finish_reason.as_deref()),
        ("Paris.", Some("end_turn"))
    );
    assert_eq!(
        out.usage,
        Usage {
            input_tokens: 12,
            output_tokens: 3
        }
    );
    let sent = &received.lock().unwrap()[0];
    assert_eq!(
        (sent.path.as_str(), sent.headers["x-api-key"].to_str().unwrap()),
        ("/messages", "sk-ant-test")
    );
    assert_eq!(sent.headers["anthropic-version"], "2023-06-01");
    assert_eq!(sent.body["system"], "Be brief.");
    assert_eq!(
        sent.body["messages"],
        json!([{"role": "user", "content": "Capital of France?"}])
    );
    let sampled = (
        &sent.body["temperature"],
        &sent.body["top_p"],
        &sent.body["stop_sequences"],
    );
    assert_eq!(sampled, (&json!(0.25), &json!(0.5), &json!(["END"])));
}

#[tokio::test]
async fn a_stream_delivers_text_deltas_usage_and_the_stop_reason() {
    let events = [
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-sonnet-4-5-20250929\",\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Par\"}}\n\nevent: content_block_de",
        "lta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"is.\"}}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    ];
    let (base, _) = serve(vec![Answer::sse(&events)]).await;
    let mut pieces = Vec::new();
    let out = client(&base)
        .stream(&request(), &mut |p| pieces.push(p.to_owned()))
        .await
        .unwrap();
    assert_eq!(pieces, ["Par", "is."]);
    assert_eq!(
        (out.text.as_str(), out.model.as_str()),
        ("Paris.", "claude-sonnet-4-5-20250929")
    );
    assert_eq!(
        out.usage,
        Usage {
            input_tokens: 12,
            output_tokens: 3
        }
    );
    assert_eq!(out.finish_reason.as_deref(), Some("end_turn"));
}

#[tokio::test]
async fn an_overloaded_error_mid_stream_is_a_retryable_server_error() {
    let events = ["event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"];
    let (base, _) = serve(vec![Answer::sse(&events)]).await;
    let err = client(&base).stream(&request(), &mut |_| {}).await.unwrap_err();
    assert_eq!(err, ProviderError::Server { status: 529 });
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_bad_request_is_refused_with_the_providers_message() {
    let body = json!({"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: too large"}});
    let (base, _) = serve(vec![Answer::json(400, &body)]).await;
    let err = client(&base).complete(&request()).await.unwrap_err();
    assert!(matches!(&err, ProviderError::Refused { status: 400, message } if message.contains("max_tokens")));
    assert!(!err.is_retryable());
}
