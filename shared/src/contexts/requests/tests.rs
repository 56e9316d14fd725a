//! Validation names the field that is wrong.

use serde_json::json;

use super::*;

fn field_of(body: Value) -> String {
    create_context(&body, &Limits::default()).unwrap_err().field
}

#[test]
fn the_brief_example_is_valid() {
    let body = json!({"model_id": "gpt-4o-mini", "nodes": [{"content": "You are a helpful assistant.",
        "content_type": "text", "metadata": {"role": "system"}}], "metadata": {"session": "user123"},
        "return_context": true, "user_id": "user123", "priority": "medium"});
    let input = create_context(&body, &Limits::default()).unwrap();
    assert_eq!((input.nodes.len(), input.priority, input.return_context), (1, 5, true));
    let p = prompt(
        &json!({"prompt": "What is the capital of France?", "metadata": {"conversation_id": "12345"},
        "stream": false, "user_id": "user123", "priority": "high"}),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(p.priority, 8);
}

#[test]
fn every_kind_of_wrong_field_is_named() {
    assert_eq!(field_of(json!([])), "body");
    assert_eq!(field_of(json!({"modle_id": "x"})), "modle_id");
    assert_eq!(field_of(json!({"model_id": 7})), "model_id");
    assert_eq!(field_of(json!({"nodes": {}})), "nodes");
    assert_eq!(field_of(json!({"nodes": [{"content": 1}]})), "nodes[0].content");
    assert_eq!(
        field_of(json!({"nodes": [{"content": "x", "content_type": "xml"}]})),
        "nodes[0].content_type"
    );
    assert_eq!(
        field_of(json!({"nodes": [{"content": "{", "content_type": "json"}]})),
        "nodes[0].content"
    );
    assert_eq!(
        field_of(json!({"nodes": [{"content": "x", "metadata": {"role": "king"}}]})),
        "nodes[0].metadata.role"
    );
    assert_eq!(field_of(json!({"metadata": "x"})), "metadata");
    assert_eq!(field_of(json!({"return_context": "yes"})), "return_context");
    assert_eq!(field_of(json!({"priority": 0})), "priority");
    assert_eq!(field_of(json!({"user_id": "u".repeat(129)})), "user_id");
    let too_many: Vec<Value> = (0..99).map(|_| json!({"content": "x"})).collect();
    assert_eq!(field_of(json!({"nodes": too_many})), "nodes");
    assert_eq!(
        field_of(json!({"nodes": [{"content": "x".repeat(32 * 1024 + 1)}]})),
        "nodes[0].content"
    );
}

#[test]
fn an_empty_or_oversized_prompt_is_refused() {
    let limits = Limits::default();
    assert_eq!(prompt(&json!({"prompt": "  "}), &limits).unwrap_err().field, "prompt");
    assert_eq!(
        prompt(&json!({"prompt": "x".repeat(limits.max_prompt_bytes + 1)}), &limits)
            .unwrap_err()
            .field,
        "prompt"
    );
    assert_eq!(
        prompt(&json!({"prompt": "x", "stream": "no"}), &limits)
            .unwrap_err()
            .field,
        "stream"
    );
}
