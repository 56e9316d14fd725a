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
        tools: Vec::new(),
        turns: Vec::new(),
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

#[tokio::test]
async fn tools_are_offered_and_tool_use_blocks_are_read_whole_or_streamed_and_rounds_sent_back() {
    let whole = json!({"model": "claude", "stop_reason": "tool_use", "usage": {"input_tokens": 20, "output_tokens": 9},
        "content": [{"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}]});
    let events = [
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude\",\"usage\":{\"input_tokens\":20}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"weather\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Oslo\\\"}\"}}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":7}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    ];
    let (base, received) = serve(vec![Answer::json(200, &whole), Answer::sse(&events)]).await;
    let mut asked = request();
    asked.tools = vec![crate::providers::ToolSpec {
        name: "weather".into(),
        description: "Weather by city".into(),
        input_schema: json!({"type": "object"}),
    }];
    let call = |id: &str, city: &str| crate::providers::ToolCall {
        id: id.into(),
        name: "weather".into(),
        arguments: json!({"city": city}),
    };
    let out = client(&base).complete(&asked).await.unwrap();
    assert_eq!(
        (out.text.as_str(), out.tool_calls),
        ("Let me look.", vec![call("toolu_1", "Paris")])
    );
    // The second call carries the first round back
    asked.turns = vec![crate::providers::ToolTurn {
        text: "Let me look.".into(),
        calls: vec![call("toolu_1", "Paris")],
        results: vec![crate::providers::ToolOutput {
            call_id: "toolu_1".into(),
            content: "endpoint failed".into(),
            is_error: true,
        }],
    }];
    let streamed = client(&base).stream(&asked, &mut |_| {}).await.unwrap();
    assert_eq!(streamed.tool_calls, vec![call("toolu_2", "Oslo")]);
    let sent = received.lock().unwrap();
    assert_eq!(
        sent[0].body["tools"],
        json!([{"name": "weather", "description": "Weather by city", "input_schema": {"type": "object"}}])
    );
    let messages = &sent[1].body["messages"];
    assert_eq!(
        messages[1],
        json!({"role": "assistant", "content": [{"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}]})
    );
    assert_eq!(
        messages[2],
        json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
            "content": "endpoint failed", "is_error": true}]})
    );
}
