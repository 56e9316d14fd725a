//! Unit tests of the CORS configuration: reading it from a template, matching origins, and the
//! headers of a preflight answer and of any other answer.

use std::path::PathBuf;

use super::*;

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap()
}

fn config(origins: &[&str]) -> CorsConfig {
    CorsConfig {
        allow_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
        allow_methods: vec!["GET".into(), "HEAD".into()],
        allow_headers: vec!["authorization".into(), "x-api-key".into()],
        expose_headers: vec!["x-request-id".into()],
        max_age: Some(600),
        allow_credentials: false,
    }
}

fn request(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            )
        })
        .collect()
}

fn shown(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut out: Vec<_> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    out.sort();
    out
}

const TEMPLATE: &str = r#"
Parameters:
  CorsAllowedOrigins: {Type: String, Default: ""}
Conditions:
  HasCorsOrigins: !Not [!Equals [!Ref CorsAllowedOrigins, ""]]
Resources:
  HttpApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration: !If
        - HasCorsOrigins
        - AllowOrigins: !Split [",", !Ref CorsAllowedOrigins]
          AllowMethods: [GET, HEAD]
          AllowHeaders: [authorization, x-api-key]
          ExposeHeaders: [x-request-id]
          MaxAge: 600
          AllowCredentials: false
        - !Ref AWS::NoValue
"#;

#[test]
fn the_template_turns_cors_on_only_when_origins_are_given() {
    // GIVEN a template whose CORS depends on a parameter
    let template = Template::parse(TEMPLATE, PathBuf::from(".")).unwrap();
    let with = |origins: &str| BTreeMap::from([("CorsAllowedOrigins".to_owned(), origins.to_owned())]);

    // WHEN it is read with no origins, then with two
    let off = CorsConfig::from_template(&template, &with("")).unwrap();
    let on = CorsConfig::from_template(&template, &with("https://a.test,http://localhost:8080")).unwrap();

    // THEN CORS is off, then on with every setting
    assert_eq!(off, None);
    assert_eq!(on, Some(config(&["https://a.test", "http://localhost:8080"])));
}

#[test]
fn true_allows_every_origin_and_false_none_as_sam_reads_them() {
    assert_eq!(CorsConfig::parse(&yaml("true")).unwrap().unwrap().allow_origins, ["*"]);
    assert_eq!(CorsConfig::parse(&yaml("false")), Ok(None));
}

#[test]
fn what_sam_or_api_gateway_refuses_is_refused() {
    for (text, why) in [
        ("{AllowOrigin: [x]}", "unknown key"),
        ("{AllowOrigins: x}", "not a list"),
        ("{AllowOrigins: ['*'], AllowCredentials: true}", "AllowCredentials"),
        ("{MaxAge: soon}", "MaxAge"),
        ("https://a.test", "not true, false or a map"),
    ] {
        let err = CorsConfig::parse(&yaml(text)).unwrap_err();
        assert!(err.contains(why), "{text}: {err}");
    }
}

#[test]
fn origins_match_exactly_or_by_the_scheme_wildcards() {
    let cors = config(&["https://console.test", "http://*"]);
    assert_eq!(
        cors.allowed_origin("https://console.test"),
        Some("https://console.test")
    );
    assert_eq!(
        cors.allowed_origin("http://localhost:8080"),
        Some("http://localhost:8080")
    );
    for other in [
        "https://console.test:8443",
        "https://console.test.evil.test",
        "http://",
        "https://other.test",
        "null",
    ] {
        let expected = other.starts_with("http://").then_some(other);
        assert_eq!(cors.allowed_origin(other), expected, "{other}");
    }
    assert_eq!(config(&["https://*"]).allowed_origin("http://a.test"), None);
}

#[test]
fn a_star_origin_is_answered_with_a_star() {
    assert_eq!(config(&["*"]).allowed_origin("https://any.test"), Some("*"));
}

#[test]
fn a_preflight_needs_options_origin_and_a_requested_method() {
    let full = request(&[("origin", "https://a.test"), ("access-control-request-method", "POST")]);
    assert!(is_preflight(&Method::OPTIONS, &full));
    assert!(!is_preflight(&Method::GET, &full));
    assert!(!is_preflight(
        &Method::OPTIONS,
        &request(&[("origin", "https://a.test")])
    ));
    assert!(!is_preflight(
        &Method::OPTIONS,
        &request(&[("access-control-request-method", "POST")])
    ));
}

#[test]
fn a_preflight_answer_carries_the_allow_headers_only_for_an_allowed_origin() {
    let mut cors = config(&["https://a.test"]);
    cors.allow_credentials = true;
    let allowed = cors.preflight(&request(&[("origin", "https://a.test")]));
    assert_eq!(allowed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        shown(allowed.headers()),
        [
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-headers", "authorization,x-api-key"),
            ("access-control-allow-methods", "GET,HEAD"),
            ("access-control-allow-origin", "https://a.test"),
            ("access-control-max-age", "600"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
    let refused = cors.preflight(&request(&[("origin", "https://b.test")]));
    assert_eq!(refused.status(), StatusCode::NO_CONTENT);
    assert!(refused.headers().is_empty());
}

#[test]
fn an_answer_gets_the_configured_headers_in_place_of_its_own() {
    // GIVEN a function's answer with CORS headers of its own
    let theirs = || {
        request(&[
            ("content-type", "application/json"),
            ("access-control-allow-origin", "*"),
            ("access-control-allow-methods", "DELETE"),
        ])
    };
    let cors = config(&["https://a.test"]);

    // WHEN it goes to an allowed origin, and to another
    let mut allowed = theirs();
    cors.apply(&request(&[("origin", "https://a.test")]), &mut allowed);
    let mut other = theirs();
    cors.apply(&request(&[("origin", "https://b.test")]), &mut other);

    // THEN the first has the configured headers alone, the second none at all
    let expected = [
        ("access-control-allow-origin", "https://a.test"),
        ("access-control-expose-headers", "x-request-id"),
        ("content-type", "application/json"),
    ];
    assert_eq!(shown(&allowed), expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
    assert_eq!(
        shown(&other),
        [("content-type".to_owned(), "application/json".to_owned())]
    );
}
