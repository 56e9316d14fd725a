//! What a registration must look like, and how prompts render.

use serde_json::json;

use super::*;

#[test]
fn a_tool_needs_a_valid_object_schema_and_an_https_endpoint() {
    let ok = json!({"name": "weather", "description": "Weather by city", "endpoint": "https://example.com/weather",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}});
    assert_eq!(tool(&ok, false).unwrap()["name"], "weather");
    let cases = [
        (json!({"name": "create_task"}), "name"),
        (json!({"name": "a b"}), "name"),
        (
            json!({"name": "w", "description": "d", "endpoint": "https://e.com", "input_schema": {"type": 5}}),
            "input_schema",
        ),
        (
            json!({"name": "w", "description": "d", "endpoint": "https://e.com", "input_schema": {"type": "string"}}),
            "input_schema",
        ),
        (
            json!({"name": "w", "description": "d", "endpoint": "http://e.com", "input_schema": {"type": "object"}}),
            "endpoint",
        ),
        (
            json!({"name": "w", "description": "d", "endpoint": "https://u:p@e.com", "input_schema": {"type": "object"}}),
            "endpoint",
        ),
        (json!({"name": "w", "colour": 1}), "colour"),
    ];
    for (body, field) in cases {
        match tool(&body, false) {
            Err(RegistryError::Invalid { field: f, .. }) => assert_eq!(f, field, "{body}"),
            other => panic!("{body}: {other:?}"),
        }
    }
    let local = json!({"name": "w", "description": "d", "endpoint": "http://127.0.0.1:9/x", "input_schema": {"type": "object"}});
    assert!(tool(&local, true).is_ok());
}

#[test]
fn a_prompt_declares_every_placeholder_and_renders_with_checked_arguments() {
    let body = json!({"name": "greet", "template": "Hello {{who}}, about {{ topic }}.",
        "arguments": [{"name": "who", "required": true}, {"name": "topic"}]});
    let p = prompt(&body).unwrap();
    let args = |v: serde_json::Value| v.as_object().unwrap().clone();
    assert_eq!(
        render(&p, &args(json!({"who": "Ada", "topic": "tea"}))).unwrap(),
        "Hello Ada, about tea."
    );
    assert!(matches!(render(&p, &args(json!({}))), Err(RegistryError::Invalid { field, .. }) if field == "who"));
    assert!(
        matches!(render(&p, &args(json!({"who": "A", "x": "y"}))), Err(RegistryError::Invalid { field, .. }) if field == "x")
    );
    let undeclared = json!({"name": "g", "template": "Hi {{nobody}}"});
    assert!(matches!(prompt(&undeclared), Err(RegistryError::Invalid { field, .. }) if field == "template"));
}

#[test]
fn a_resource_has_a_uri_outside_data_and_sized_content() {
    let ok = json!({"uri": "docs://guide", "name": "Guide", "mime_type": "application/json", "content": {"a": 1}});
    assert_eq!(resource(&ok).unwrap()["content"], json!({"a": 1}));
    for (body, field) in [
        (json!({"uri": "data://tasks/x", "name": "n", "content": "c"}), "uri"),
        (json!({"uri": "no-scheme", "name": "n", "content": "c"}), "uri"),
        (json!({"uri": "docs://x", "name": "n", "content": {"a": 1}}), "content"),
        (
            json!({"uri": "docs://x", "name": "n", "content": "x".repeat(70_000)}),
            "content",
        ),
    ] {
        assert!(
            matches!(resource(&body), Err(RegistryError::Invalid { field: f, .. }) if f == field),
            "{body}"
        );
    }
}
