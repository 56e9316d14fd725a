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
        tools: Vec::new(),
        turns: Vec::new(),
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

fn with_tools() -> ChatRequest {
    let mut request = request();
    request.tools = vec![crate::providers::ToolSpec {
        name: "weather".into(),
        description: "Weather by city".into(),
        input_schema: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
    }];
    request
}

#[tokio::test]
async fn tools_are_offered_as_functions_and_a_tool_call_is_read_whole_or_streamed_in_pieces() {
    let called = json!({"model": "m", "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
        "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]}}], "usage": {}});
    let start = r#"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_2","type":"function","function":{"name":"weather","arguments":""}}]}}]}

"#;
    let part = r#"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}}]}

"#;
    let rest = r#"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Oslo\"}"}}]},"finish_reason":"tool_calls"}]}

data: [DONE]

"#;
    let (base, received) = serve(vec![Answer::json(200, &called), Answer::sse(&[start, part, rest])]).await;
    let whole = client(&base).complete(&with_tools()).await.unwrap();
    let streamed = client(&base).stream(&with_tools(), &mut |_| {}).await.unwrap();
    let call = |id: &str, city: &str| crate::providers::ToolCall {
        id: id.into(),
        name: "weather".into(),
        arguments: json!({"city": city}),
    };
    assert_eq!(
        (whole.text.as_str(), whole.tool_calls),
        ("", vec![call("call_1", "Paris")])
    );
    assert_eq!(streamed.tool_calls, vec![call("call_2", "Oslo")]);
    assert_eq!(streamed.finish_reason.as_deref(), Some("tool_calls"));
    let sent = &received.lock().unwrap()[0].body;
    assert_eq!(
        sent["tools"],
        json!([{"type": "function", "function": {"name": "weather", "description": "Weather by city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])
    );
}

#[tokio::test]
async fn a_tool_round_is_sent_back_as_the_assistants_calls_and_a_tool_message_each() {
    let answer = json!({"model": "m", "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": "It is sunny in Paris."}}], "usage": {}});
    let (base, received) = serve(vec![Answer::json(200, &answer)]).await;
    let mut request = with_tools();
    request.turns = vec![crate::providers::ToolTurn {
        text: String::new(),
        calls: vec![crate::providers::ToolCall {
            id: "call_1".into(),
            name: "weather".into(),
            arguments: json!({"city": "Paris"}),
        }],
        results: vec![crate::providers::ToolOutput {
            call_id: "call_1".into(),
            content: "{\"sky\":\"sunny\"}".into(),
            is_error: false,
        }],
    }];
    let out = client(&base).complete(&request).await.unwrap();
    assert_eq!(out.text, "It is sunny in Paris.");
    assert!(out.tool_calls.is_empty());
    let sent = &received.lock().unwrap()[0].body["messages"];
    assert_eq!(sent.as_array().unwrap().len(), 4);
    assert_eq!(
        sent[2],
        json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]})
    );
    assert_eq!(
        sent[3],
        json!({"role": "tool", "tool_call_id": "call_1", "content": "{\"sky\":\"sunny\"}"})
    );
}

#[tokio::test]
async fn a_streamed_tool_call_index_past_the_bound_is_malformed_not_a_huge_list() {
    let huge = r#"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":100000000,"id":"x","function":{"name":"weather","arguments":"{}"}}]}}]}

"#;
    let (base, _) = serve(vec![Answer::sse(&[huge])]).await;
    let err = client(&base).stream(&with_tools(), &mut |_| {}).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Malformed(ref m) if m.contains("index")),
        "{err:?}"
    );
}
