//! The envelope's checks, each failure with its code.

use super::*;

fn code(body: &str) -> &'static str {
    parse(body).unwrap_err().code.as_str()
}

#[test]
fn a_request_and_a_heartbeat_are_read() {
    let request =
        parse(r#"{"protocol_version":"2.0","message_type":"request","message_id":"req-1","method":"tools/list"}"#);
    assert_eq!(
        request,
        Ok(Inbound::Request {
            message_id: "req-1".into(),
            method: "tools/list".into(),
            params: Map::new()
        })
    );
    let beat = parse(r#"{"protocol_version":"2.0","message_type":"heartbeat","message_id":"hb-1","uptime":3.5}"#);
    assert_eq!(
        beat,
        Ok(Inbound::Heartbeat {
            message_id: "hb-1".into()
        })
    );
}

#[test]
fn each_broken_part_has_its_code_and_the_first_one_decides() {
    assert_eq!(code("not json"), "INVALID_MESSAGE_FORMAT");
    assert_eq!(code("[1]"), "INVALID_MESSAGE_FORMAT");
    assert_eq!(
        code(r#"{"protocol_version":"1.0","message_type":"heartbeat","message_id":"a"}"#),
        "INVALID_PROTOCOL_VERSION"
    );
    assert_eq!(
        code(r#"{"message_type":"heartbeat","message_id":"a"}"#),
        "INVALID_PROTOCOL_VERSION"
    );
    assert_eq!(
        code(r#"{"protocol_version":"2.0","message_type":"heartbeat","message_id":"a b"}"#),
        "INVALID_MESSAGE_ID"
    );
    assert_eq!(
        code(r#"{"protocol_version":"2.0","message_type":"heartbeat"}"#),
        "INVALID_MESSAGE_ID"
    );
    assert_eq!(
        code(r#"{"protocol_version":"2.0","message_type":"event","message_id":"a"}"#),
        "INVALID_MESSAGE_FORMAT"
    );
    assert_eq!(
        code(r#"{"protocol_version":"2.0","message_type":"request","message_id":"a"}"#),
        "INVALID_MESSAGE_FORMAT"
    );
    assert_eq!(
        code(r#"{"protocol_version":"2.0","message_type":"heartbeat","message_id":"a","extra":1}"#),
        "INVALID_MESSAGE_FORMAT"
    );
    let big = format!(
        r#"{{"protocol_version":"2.0","message_type":"heartbeat","message_id":"{}"}}"#,
        "a".repeat(MAX_MESSAGE_BYTES)
    );
    assert_eq!(code(&big), "MESSAGE_TOO_LARGE");
}

#[test]
fn a_refusal_names_the_message_it_refuses_when_its_id_is_readable() {
    let e = parse(r#"{"protocol_version":"3.0","message_type":"heartbeat","message_id":"hb-7"}"#).unwrap_err();
    let answer: Value = serde_json::from_str(&error(&e)).unwrap();
    assert_eq!(answer["message_type"], "error");
    assert_eq!(answer["request_id"], "hb-7");
    assert_eq!(answer["error_code"], "INVALID_PROTOCOL_VERSION");
    assert!(answer["message_id"].as_str().unwrap().starts_with("err_"));
}
