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
        vec![json!({"role": "user", "content": {"type": "text", "text": "Hello Ada, about tea."}})]
    );
    assert!(matches!(render(&p, &args(json!({}))), Err(RegistryError::Invalid { field, .. }) if field == "who"));
    assert!(
        matches!(render(&p, &args(json!({"who": "A", "x": "y"}))), Err(RegistryError::Invalid { field, .. }) if field == "x")
    );
    let undeclared = json!({"name": "g", "template": "Hi {{nobody}}"});
    assert!(matches!(prompt(&undeclared), Err(RegistryError::Invalid { field, .. }) if field == "template"));
}

#[test]
fn a_prompt_of_messages_carries_any_content_block_and_fills_its_placeholders() {
    let body = json!({"name": "show", "arguments": [{"name": "uri", "required": true, "values": ["test://a", "test://b"]}],
        "messages": [
            {"role": "user", "content": {"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"}},
            {"role": "assistant", "content": {"type": "resource", "resource": {"uri": "{{uri}}", "text": "about {{uri}}"}}}]});
    let p = prompt(&body).unwrap();
    assert_eq!(p["arguments"][0]["values"], json!(["test://a", "test://b"]));
    let args = json!({"uri": "test://a"}).as_object().unwrap().clone();
    let out = render(&p, &args).unwrap();
    assert_eq!(out[0], body["messages"][0]);
    assert_eq!(
        out[1]["content"]["resource"],
        json!({"uri": "test://a", "text": "about test://a"})
    );
    for (bad, field) in [
        (json!({"name": "x", "template": "t", "messages": []}), "template"),
        (json!({"name": "x"}), "template"),
        (json!({"name": "x", "messages": []}), "messages"),
        (
            json!({"name": "x", "messages": [{"role": "system", "content": {"type": "text", "text": "t"}}]}),
            "messages[0].role",
        ),
        (
            json!({"name": "x", "messages": [{"role": "user", "content": {"type": "text", "text": "{{y}}"}}]}),
            "messages",
        ),
        (
            json!({"name": "x", "arguments": [{"name": "a", "values": [""]}], "template": "t"}),
            "arguments[0].values",
        ),
    ] {
        let err = prompt(&bad).unwrap_err();
        assert!(
            matches!(&err, RegistryError::Invalid { field: f, .. } if f == field),
            "{bad}: {err}"
        );
    }
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

#[test]
fn a_resource_may_be_binary_or_a_template_whose_reads_fill_its_text() {
    let png = json!({"uri": "test://logo", "name": "Logo", "mime_type": "image/png", "blob": "iVBORw0KGgo="});
    let doc = resource(&png).unwrap();
    assert_eq!(
        resource_contents(&doc, "test://logo", &[]).unwrap(),
        json!({"uri": "test://logo", "mimeType": "image/png", "blob": "iVBORw0KGgo="})
    );
    let body = json!({"uri_template": "test://items/{id}/data", "name": "Item", "mime_type": "application/json",
        "content": "{\"id\": \"{{id}}\"}"});
    let doc = resource(&body).unwrap();
    assert_eq!(
        (doc["uri"].as_str(), doc["uri_template"].as_str()),
        (Some("test://items/{id}/data"), Some("test://items/{id}/data"))
    );
    let read = resource_contents(&doc, "test://items/7/data", &[("id".into(), "7".into())]).unwrap();
    assert_eq!(read["text"], "{\"id\": \"7\"}");
    // A value cannot change the JSON's structure
    let sneaky = resource_contents(&doc, "u", &[("id".into(), "x\", \"admin\": true, \"y\": \"".into())]).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(sneaky["text"].as_str().unwrap()).unwrap();
    assert_eq!(parsed.as_object().unwrap().len(), 1, "{parsed}");
    // So in any JSON media type, parameters and case aside
    let mut ld = doc.clone();
    ld["mime_type"] = "Application/LD+JSON; charset=utf-8".into();
    let read = resource_contents(&ld, "u", &[("id".into(), "a\"b".into())]).unwrap();
    assert_eq!(read["text"], "{\"id\": \"a\\\"b\"}");
    for (bad, field) in [
        (json!({"uri": "test://x", "name": "n", "blob": "not base64!"}), "blob"),
        (
            json!({"uri": "test://x", "name": "n", "blob": "AA==", "content": "c"}),
            "content",
        ),
        (
            json!({"uri": "test://x", "uri_template": "test://{x}", "name": "n", "content": "c"}),
            "uri",
        ),
        (
            json!({"uri_template": "test://plain", "name": "n", "content": "c"}),
            "uri_template",
        ),
        (
            json!({"uri_template": "data://{x}", "name": "n", "content": "c"}),
            "uri_template",
        ),
        (
            json!({"uri_template": "test://{x}", "name": "n", "content": "{{y}}"}),
            "content",
        ),
        (
            json!({"uri_template": "test://{x}", "name": "n", "mime_type": "application/json", "content": {"a": 1}}),
            "content",
        ),
    ] {
        let err = resource(&bad).unwrap_err();
        assert!(
            matches!(&err, RegistryError::Invalid { field: f, .. } if f == field),
            "{bad}: {err}"
        );
    }
}

#[test]
fn placeholders_are_filled_in_one_pass_and_a_fill_past_the_limit_is_refused() {
    let values = [("a".to_owned(), "{{b}}".to_owned()), ("b".to_owned(), "B".to_owned())];
    assert_eq!(
        fill_placeholders("{{a}} {{ b }} {{c}} {{", &values).unwrap(),
        "{{b}} B {{c}} {{"
    );
    let big = [("a".to_owned(), "x".repeat(600 * 1024))];
    assert!(fill_placeholders("{{a}}", &big).is_some());
    assert!(fill_placeholders("{{a}}{{a}}", &big).is_none());
    let p = prompt(&json!({"name": "p", "template": "{{a}}{{a}}", "arguments": [{"name": "a"}]})).unwrap();
    let args = json!({"a": "x".repeat(600 * 1024)}).as_object().unwrap().clone();
    assert!(matches!(render(&p, &args), Err(RegistryError::Invalid { field, .. }) if field == "arguments"));
}
