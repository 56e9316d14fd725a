//! The Bedrock client against replayed Converse answers: JSON for `Converse`, AWS event-stream
//! frames for `ConverseStream`, and the service's error types.

use aws_smithy_types::event_stream::{Header, HeaderValue, Message as Frame};
use serde_json::json;

use super::*;
use crate::providers::replay::{serve, Answer};
use crate::providers::{Message, Sampling};

const MODEL: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";

fn request() -> ChatRequest {
    let message = |role, content: &str| Message {
        role,
        content: content.into(),
    };
    ChatRequest {
        model: MODEL.into(),
        messages: vec![
            message(Role::System, "Be brief."),
            message(Role::User, "Capital of France?"),
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

fn client(base: &str) -> Bedrock {
    let credentials = aws_sdk_bedrockruntime::config::Credentials::new("AKIDTEST", "secret", None, None, "test");
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .credentials_provider(aws_sdk_bedrockruntime::config::SharedCredentialsProvider::new(
            credentials,
        ))
        .build();
    Bedrock::new(&sdk, "us-east-1", Some(base), Duration::from_secs(5))
}

/// One event of a `ConverseStream` answer, framed as AWS event stream.
fn frame(event_type: &'static str, payload: &serde_json::Value) -> Vec<u8> {
    let message = Frame::new(payload.to_string().into_bytes())
        .add_header(Header::new(":message-type", HeaderValue::String("event".into())))
        .add_header(Header::new(":event-type", HeaderValue::String(event_type.into())))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ));
    let mut out = Vec::new();
    aws_smithy_eventstream::frame::write_message_to(&message, &mut out).unwrap();
    out
}

fn event_stream(frames: Vec<Vec<u8>>) -> Answer {
    Answer {
        status: 200,
        headers: vec![("content-type", "application/vnd.amazon.eventstream")],
        chunks: frames,
    }
}

#[tokio::test]
async fn converse_returns_text_usage_and_stop_reason_and_sends_system_apart() {
    let body = json!({"output": {"message": {"role": "assistant", "content": [{"text": "Paris."}]}},
        "stopReason": "end_turn", "usage": {"inputTokens": 12, "outputTokens": 3, "totalTokens": 15},
        "metrics": {"latencyMs": 200}});
    let (base, received) = serve(vec![Answer::json(200, &body)]).await;
    let out = client(&base).complete(&request()).await.unwrap();
    assert_eq!((out.text.as_str(), out.provider.as_str()), ("Paris.", "bedrock"));
    assert_eq!(out.finish_reason.as_deref(), Some("end_turn"));
    assert_eq!(
        out.usage,
        Usage {
            input_tokens: 12,
            output_tokens: 3
        }
    );
    let sent = &received.lock().unwrap()[0];
    assert_eq!(sent.path, "/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse");
    assert!(sent.headers["authorization"]
        .to_str()
        .unwrap()
        .starts_with("AWS4-HMAC-SHA256"));
    assert_eq!(sent.body["system"], json!([{"text": "Be brief."}]));
    assert_eq!(
        sent.body["messages"],
        json!([{"role": "user", "content": [{"text": "Capital of France?"}]}])
    );
    assert_eq!(
        sent.body["inferenceConfig"],
        json!({"maxTokens": 50, "temperature": 0.25, "topP": 0.5, "stopSequences": ["END"]})
    );
}

#[tokio::test]
async fn converse_stream_hands_each_delta_on_and_splits_frames_anywhere() {
    let frames = [
        frame("messageStart", &json!({"role": "assistant"})),
        frame(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 0, "delta": {"text": "Par"}}),
        ),
        frame(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 0, "delta": {"text": "is."}}),
        ),
        frame("contentBlockStop", &json!({"contentBlockIndex": 0})),
        frame("messageStop", &json!({"stopReason": "end_turn"})),
        frame(
            "metadata",
            &json!({"usage": {"inputTokens": 9, "outputTokens": 2, "totalTokens": 11},
            "metrics": {"latencyMs": 10}}),
        ),
    ]
    .concat();
    // Split the bytes mid-frame, the way a network would.
    let chunks = frames.chunks(37).map(<[u8]>::to_vec).collect();
    let (base, received) = serve(vec![event_stream(chunks)]).await;
    let mut pieces = Vec::new();
    let out = client(&base)
        .stream(&request(), &mut |p| pieces.push(p.to_owned()))
        .await
        .unwrap();
    assert_eq!(pieces, ["Par", "is."]);
    assert_eq!((out.text.as_str(), out.usage.output_tokens), ("Paris.", 2));
    assert_eq!(out.finish_reason.as_deref(), Some("end_turn"));
    assert!(received.lock().unwrap()[0].path.ends_with("/converse-stream"));
}

#[tokio::test]
async fn a_stream_without_message_stop_is_malformed() {
    let frames = vec![frame(
        "contentBlockDelta",
        &json!({"contentBlockIndex": 0, "delta": {"text": "Par"}}),
    )];
    let (base, _) = serve(vec![event_stream(frames)]).await;
    let err = client(&base).stream(&request(), &mut |_| {}).await.unwrap_err();
    assert!(matches!(err, ProviderError::Malformed(_)), "{err:?}");
}

#[tokio::test]
async fn throttling_and_service_failures_are_retryable_validation_is_not() {
    let (base, _) = serve(vec![
        Answer::aws_error(429, "ThrottlingException", "Too many requests"),
        Answer::aws_error(503, "ServiceUnavailableException", "try later"),
        Answer::aws_error(400, "ValidationException", "maxTokens too large"),
        Answer::aws_error(403, "AccessDeniedException", "no model access"),
    ])
    .await;
    let bedrock = client(&base);
    let mut errors = Vec::new();
    for _ in 0..4 {
        errors.push(bedrock.complete(&request()).await.unwrap_err());
    }
    assert_eq!(errors[0], ProviderError::RateLimited { retry_after: None });
    assert_eq!(errors[1], ProviderError::Server { status: 503 });
    assert!(!errors[2].is_retryable());
    assert!(
        errors[2]
            .to_string()
            .contains("ValidationException: maxTokens too large"),
        "{}",
        errors[2]
    );
    assert!(
        matches!(errors[3], ProviderError::Refused { status: 403, .. }),
        "{:?}",
        errors[3]
    );
}

#[tokio::test]
async fn a_malformed_answer_and_a_closed_port_are_errors_not_answers() {
    let (base, _) = serve(vec![Answer::json(200, &json!({"unexpected": true}))]).await;
    let err = client(&base).complete(&request()).await.unwrap_err();
    assert!(matches!(err, ProviderError::Malformed(_)), "{err:?}");
    let err = client("http://127.0.0.1:1").complete(&request()).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn tools_go_in_tool_config_and_tool_use_is_read_whole_or_streamed_and_rounds_sent_back() {
    let whole = json!({"output": {"message": {"role": "assistant", "content": [
            {"toolUse": {"toolUseId": "tooluse_1", "name": "weather", "input": {"city": "Paris", "days": 2}}}]}},
        "stopReason": "tool_use", "usage": {"inputTokens": 20, "outputTokens": 9, "totalTokens": 29},
        "metrics": {"latencyMs": 200}});
    let frames = vec![
        frame("messageStart", &json!({"role": "assistant"})),
        frame(
            "contentBlockStart",
            &json!({"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "tooluse_2", "name": "weather"}}}),
        ),
        frame(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{\"city\": "}}}),
        ),
        frame(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": "\"Oslo\"}"}}}),
        ),
        frame("contentBlockStop", &json!({"contentBlockIndex": 0})),
        frame("messageStop", &json!({"stopReason": "tool_use"})),
    ];
    let (base, received) = serve(vec![Answer::json(200, &whole), event_stream(frames)]).await;
    let mut asked = request();
    asked.tools = vec![crate::providers::ToolSpec {
        name: "weather".into(),
        description: "Weather by city".into(),
        input_schema: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
    }];
    let out = client(&base).complete(&asked).await.unwrap();
    assert_eq!(
        out.tool_calls,
        vec![crate::providers::ToolCall {
            id: "tooluse_1".into(),
            name: "weather".into(),
            arguments: json!({"city": "Paris", "days": 2}),
        }]
    );
    asked.turns = vec![crate::providers::ToolTurn {
        text: String::new(),
        calls: out.tool_calls.clone(),
        results: vec![crate::providers::ToolOutput {
            call_id: "tooluse_1".into(),
            content: "sunny".into(),
            is_error: false,
        }],
    }];
    let streamed = client(&base).stream(&asked, &mut |_| {}).await.unwrap();
    assert_eq!(streamed.tool_calls[0].arguments, json!({"city": "Oslo"}));
    assert_eq!(streamed.tool_calls[0].id, "tooluse_2");
    let sent = received.lock().unwrap();
    assert_eq!(
        sent[0].body["toolConfig"],
        json!({"tools": [{"toolSpec": {"name": "weather", "description": "Weather by city",
            "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}}}}]})
    );
    let messages = &sent[1].body["messages"];
    assert_eq!(
        messages[1],
        json!({"role": "assistant", "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": "weather",
            "input": {"city": "Paris", "days": 2}}}]})
    );
    assert_eq!(
        messages[2],
        json!({"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_1",
            "content": [{"text": "sunny"}], "status": "success"}}]})
    );
}
