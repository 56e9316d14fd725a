//! Unit tests of event building and response translation.

use std::collections::HashMap;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use http::{HeaderMap, HeaderValue};
use serde_json::json;

use super::*;

fn route() -> RouteMatch {
    RouteMatch {
        function: "nodes".into(),
        route_key: "POST /contexts/{contextID}".into(),
        path_parameters: HashMap::from([("contextID".to_owned(), "c1".to_owned())]),
        authorizer: None,
    }
}

fn request<'a>(headers: &'a HeaderMap, body: &'a [u8], query: &'a str) -> IncomingRequest<'a> {
    IncomingRequest {
        method: "POST",
        path: "/contexts/c1",
        raw_query: query,
        headers,
        body,
        source_ip: "127.0.0.1".into(),
        request_id: "req-1".into(),
        time_epoch_ms: 1_795_348_800_000,
    }
}

#[test]
fn the_event_is_a_payload_2_0_event_the_sdk_types_accept() {
    // GIVEN a JSON POST with a cookie, repeated query keys and a path parameter
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("cookie", HeaderValue::from_static("a=1; b=2"));
    headers.append("x-multi", HeaderValue::from_static("one"));
    headers.append("x-multi", HeaderValue::from_static("two"));
    // WHEN the event is built
    let event = build_event(
        &request(&headers, br#"{"x":1}"#, "tag=a&tag=b&q=hello%20world"),
        &route(),
        None,
    );
    // THEN the aws_lambda_events type reads every field as API Gateway would have sent it
    let parsed: ApiGatewayV2httpRequest = serde_json::from_value(event.clone()).unwrap();
    assert_eq!(parsed.route_key.as_deref(), Some("POST /contexts/{contextID}"));
    assert_eq!(parsed.request_context.http.method, http::Method::POST);
    assert_eq!(parsed.request_context.request_id.as_deref(), Some("req-1"));
    assert_eq!(parsed.path_parameters["contextID"], "c1");
    assert_eq!(parsed.cookies, Some(vec!["a=1".to_owned(), "b=2".to_owned()]));
    assert_eq!(parsed.query_string_parameters.first("q"), Some("hello world"));
    assert_eq!(event["queryStringParameters"]["tag"], "a,b");
    assert_eq!(event["headers"]["x-multi"], "one,two");
    assert!(event["headers"].get("cookie").is_none());
    assert_eq!(parsed.body.as_deref(), Some(r#"{"x":1}"#));
    assert!(!parsed.is_base64_encoded);
    assert_eq!(event["requestContext"]["time"], "22/Nov/2026:12:00:00 +0000");
}

#[test]
fn lambda_http_sees_the_method_path_and_query_of_the_event() {
    let headers = HeaderMap::new();
    let event = build_event(&request(&headers, b"", "limit=5"), &route(), None);
    let req = lambda_http::request::from_str(&event.to_string()).unwrap();
    use lambda_http::RequestExt as _;
    assert_eq!(req.method(), http::Method::POST);
    assert_eq!(req.uri().path(), "/contexts/c1");
    assert_eq!(
        req.query_string_parameters_ref().and_then(|q| q.first("limit")),
        Some("5")
    );
}

#[test]
fn binary_bodies_are_base64_encoded() {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/octet-stream"));
    let event = build_event(&request(&headers, &[0, 159, 146, 150], ""), &route(), None);
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["body"], "AJ+Slg==");
}

#[test]
fn the_authorizer_context_is_passed_as_the_lambda_authorizer() {
    let headers = HeaderMap::new();
    let event = build_event(&request(&headers, b"", ""), &route(), Some(&json!({"tenant": "t1"})));
    assert_eq!(event["requestContext"]["authorizer"]["lambda"]["tenant"], "t1");
}

#[test]
fn a_structured_response_keeps_status_headers_cookies_and_decodes_base64() {
    let payload = json!({"statusCode": 201, "headers": {"x-a": "1"}, "multiValueHeaders": {"x-b": ["2", "3"]},
        "cookies": ["s=1; HttpOnly"], "body": "aGVsbG8=", "isBase64Encoded": true});
    let out = translate_response(payload.to_string().as_bytes()).unwrap();
    assert_eq!(out.status, StatusCode::CREATED);
    assert_eq!(out.headers["x-a"], "1");
    assert_eq!(out.headers.get_all("x-b").iter().count(), 2);
    assert_eq!(out.headers["set-cookie"], "s=1; HttpOnly");
    assert_eq!(out.body, b"hello");
}

#[test]
fn plain_json_is_a_200_json_response() {
    let out = translate_response(br#"{"hello":"world"}"#).unwrap();
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.headers["content-type"], "application/json");
    assert_eq!(out.body, br#"{"hello":"world"}"#);
}

#[test]
fn garbage_or_an_impossible_status_is_an_invalid_response() {
    assert!(translate_response(b"not json").is_err());
    let err = translate_response(br#"{"statusCode": 1000}"#).unwrap_err();
    assert!(err.to_string().contains("statusCode 1000"), "{err}");
}
