//! Authorizer configuration, events and decisions.

use std::path::PathBuf;

use http::HeaderValue;

use super::*;

const TEMPLATE: &str = r#"
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Keys
        Authorizers:
          Keys:
            FunctionArn: !GetAtt AuthFn.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity: {Headers: [X-Api-Key]}
  AuthFn:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: auth}}
"#;

#[test]
fn authorizers_are_read_with_their_function_and_identity_headers() {
    let template = Template::parse(TEMPLATE, PathBuf::from(".")).unwrap();
    let auth = http_auth(&template, &template.functions().unwrap()).unwrap();
    assert_eq!(auth.default.as_deref(), Some("Keys"));
    assert_eq!(
        auth.authorizers["Keys"],
        AuthorizerDef {
            function: "auth".into(),
            identity_headers: vec!["x-api-key".into()]
        }
    );
}

#[test]
fn a_missing_identity_source_means_no_event_and_a_present_one_is_passed() {
    let def = AuthorizerDef {
        function: "auth".into(),
        identity_headers: vec!["x-api-key".into()],
    };
    let request = json!({"version": "2.0", "routeKey": "GET /keys", "body": "secret", "isBase64Encoded": false});
    assert_eq!(authorizer_event(&def, &request, &HeaderMap::new()), None);
    let mut headers = HeaderMap::new();
    headers.insert("x-api-key", HeaderValue::from_static("k1"));
    let event = authorizer_event(&def, &request, &headers).unwrap();
    assert_eq!(event["type"], "REQUEST");
    assert_eq!(event["identitySource"], json!(["k1"]));
    assert!(event.get("body").is_none());
    assert!(event["routeArn"].as_str().unwrap().ends_with("/$default/GET/keys"));
}

#[test]
fn simple_responses_become_decisions() {
    assert_eq!(
        decide(br#"{"isAuthorized":true,"context":{"a":"1"}}"#),
        Decision::Allow(json!({"a": "1"}))
    );
    assert_eq!(decide(br#"{"isAuthorized":false}"#), Decision::Forbidden);
    assert!(matches!(decide(b"oops"), Decision::Failed(_)));
}
