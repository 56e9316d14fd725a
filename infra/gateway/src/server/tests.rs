//! The HTTP side over real HTTP, with an in-memory function in place of `cargo lambda watch`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{json, Value};

use super::*;
use crate::authorizers::{AuthorizerDef, HttpAuth};
use crate::invoke::InvokeError;
use crate::template::{FunctionDef, HttpRoute};

/// Answers `echo` with the event it got, fails `crash`, and records every call.
#[derive(Default)]
struct Functions {
    calls: Mutex<Vec<(String, Value)>>,
}

impl Invoker for Functions {
    async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        let event: Value = serde_json::from_slice(&payload).unwrap();
        self.calls.lock().unwrap().push((function.to_owned(), event.clone()));
        match function {
            "auth" => {
                let allowed = event["identitySource"][0] == "good";
                Ok(json!({"isAuthorized": allowed, "context": {"who": "alice"}})
                    .to_string()
                    .into_bytes())
            }
            // With CORS headers of its own, which a configured API drops.
            "echo" => Ok(
                json!({"statusCode": 200, "headers": {"content-type": "application/json",
                    "x-request-id": "r-1", "access-control-allow-origin": "*",
                    "access-control-expose-headers": "x-secret"},
                "body": event.to_string()})
                .to_string()
                .into_bytes(),
            ),
            _ => Err(InvokeError::Function {
                function: function.into(),
                kind: "Unhandled".into(),
                payload: r#"{"errorType":"Panic"}"#.into(),
            }),
        }
    }
}

async fn spawn() -> String {
    spawn_api(None).await.0
}

/// The API on a free port: `GET /echo/{id}` (and `HEAD`), `GET /crash/{id}`, `GET /secure/{id}` behind
/// the `Keys` authorizer, `ANY /any/{id}`; each function answers as [`Functions`] does.
async fn spawn_api(cors: Option<CorsConfig>) -> (String, Arc<Functions>) {
    let functions = [
        ("echo", "echo", "GET", None),
        ("echo", "echo", "HEAD", None),
        ("crash", "crash", "GET", None),
        ("secure", "echo", "GET", Some("Keys")),
        ("any", "echo", "ANY", None),
    ]
    .map(
        |(name, binary, method, authorizer): (&str, &str, &str, Option<&str>)| FunctionDef {
            logical_id: name.into(),
            binary: binary.into(),
            http_routes: vec![HttpRoute {
                method: method.into(),
                path: format!("/{name}/{{id}}"),
                authorizer: authorizer.map(str::to_owned),
            }],
            sqs_triggers: vec![],
            schedules: vec![],
        },
    );
    let invoked = Arc::new(Functions::default());
    let keys = AuthorizerDef {
        function: "auth".into(),
        identity_headers: vec!["x-api-key".into()],
    };
    let api = HttpApi {
        routes: RouteTable::new(&functions, None),
        auth: HttpAuth {
            default: None,
            authorizers: [("Keys".to_owned(), keys)].into(),
        },
        invoker: Arc::clone(&invoked),
        timeout: Duration::from_secs(5),
        cors,
        urls: Vec::new(),
        url_host: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(Arc::new(api)).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), invoked)
}

#[tokio::test]
async fn an_unknown_route_gets_api_gateways_404() {
    let base = spawn().await;
    let response = reqwest::get(format!("{base}/nowhere")).await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.text().await.unwrap(), r#"{"message":"Not Found"}"#);
}

#[tokio::test]
async fn a_body_over_the_http_api_limit_gets_413_without_invoking_anything() {
    let base = spawn().await;
    let response = reqwest::Client::new()
        .get(format!("{base}/echo/1"))
        .body(vec![b'x'; MAX_BODY_BYTES + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"message":"Request Entity Too Large"}"#
    );
}

#[tokio::test]
async fn a_matched_route_invokes_its_function_with_path_parameters() {
    let base = spawn().await;
    let response = reqwest::get(format!("{base}/echo/42?x=1")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("apigw-requestid"));
    let event: Value = response.json().await.unwrap();
    assert_eq!(event["pathParameters"]["id"], "42");
    assert_eq!(event["routeKey"], "GET /echo/{id}");
    assert_eq!(event["requestContext"]["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(event["headers"]["x-forwarded-for"], "127.0.0.1");
    assert_eq!(event["headers"]["x-forwarded-proto"], "http");
}

#[tokio::test]
async fn a_crashed_function_gets_502_with_the_envelope_and_the_gateway_keeps_serving() {
    let base = spawn().await;
    let response = reqwest::get(format!("{base}/crash/1")).await.unwrap();
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BAD_GATEWAY");
    assert!(body["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(reqwest::get(format!("{base}/echo/2")).await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_authorizer_runs_first_and_its_context_reaches_the_function() {
    let base = spawn().await;
    let get = |key: Option<&'static str>| {
        let request = reqwest::Client::new().get(format!("{base}/secure/1"));
        async move {
            key.map_or(request.try_clone().unwrap(), |k| request.header("x-api-key", k))
                .send()
                .await
                .unwrap()
        }
    };
    let missing = get(None).await;
    assert_eq!(
        (missing.status().as_u16(), missing.text().await.unwrap()),
        (401, r#"{"message":"Unauthorized"}"#.into())
    );
    let denied = get(Some("bad")).await;
    assert_eq!(
        (denied.status().as_u16(), denied.text().await.unwrap()),
        (403, r#"{"message":"Forbidden"}"#.into())
    );
    let allowed: Value = get(Some("good")).await.json().await.unwrap();
    assert_eq!(allowed["requestContext"]["authorizer"]["lambda"]["who"], "alice");
}

/// CORS for one exact origin and every `http://` one.
fn console_cors() -> CorsConfig {
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
    CorsConfig {
        allow_origins: strings(&["https://console.test", "http://*"]),
        allow_methods: strings(&["GET", "POST", "OPTIONS"]),
        allow_headers: strings(&["authorization", "x-api-key"]),
        expose_headers: strings(&["x-request-id", "retry-after"]),
        max_age: Some(600),
        allow_credentials: false,
    }
}

/// What a browser sends before a GET with an API key from `origin`.
async fn preflight(base: &str, path: &str, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{base}{path}"))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "x-api-key")
        .send()
        .await
        .unwrap()
}

/// A GET from `origin` (none: not from a browser).
async fn get_from(base: &str, path: &str, origin: Option<&str>) -> reqwest::Response {
    let request = reqwest::Client::new().get(format!("{base}{path}"));
    let request = match origin {
        Some(origin) => request.header("origin", origin),
        None => request,
    };
    request.send().await.unwrap()
}

/// Every `access-control-*` header of an answer.
fn cors_headers(response: &reqwest::Response) -> BTreeMap<String, String> {
    response
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect()
}

fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_answered_by_the_gateway_with_the_allow_headers() {
    // GIVEN an API with CORS, and a route behind an authorizer
    let (base, functions) = spawn_api(Some(console_cors())).await;

    // WHEN a browser on an allowed origin sends preflights (without credentials, as browsers do),
    // to that route and to a path no route has
    for path in ["/secure/1", "/nowhere"] {
        let response = preflight(&base, path, "https://console.test").await;

        // THEN the gateway answers 204 with the configured headers, and an empty body
        assert_eq!(response.status(), 204, "{path}");
        assert!(response.headers().contains_key("apigw-requestid"));
        assert_eq!(
            cors_headers(&response),
            headers(&[
                ("access-control-allow-origin", "https://console.test"),
                ("access-control-allow-methods", "GET,POST,OPTIONS"),
                ("access-control-allow-headers", "authorization,x-api-key"),
                ("access-control-max-age", "600"),
            ]),
            "{path}"
        );
        assert_eq!(response.text().await.unwrap(), "");
    }
    // AND neither the authorizer nor a function ran
    assert!(functions.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_preflight_from_another_origin_gets_204_without_cors_headers() {
    let (base, functions) = spawn_api(Some(console_cors())).await;
    for origin in ["https://evil.test", "https://console.test.evil.test", "null"] {
        let response = preflight(&base, "/secure/1", origin).await;
        assert_eq!(response.status(), 204, "{origin}");
        assert_eq!(cors_headers(&response), headers(&[]), "{origin}");
    }
    assert!(functions.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn without_cors_a_preflight_is_routed_like_any_request_and_gets_404() {
    let (base, functions) = spawn_api(None).await;
    let response = preflight(&base, "/secure/1", "https://console.test").await;
    assert_eq!(response.status(), 404);
    assert_eq!(cors_headers(&response), headers(&[]));
    assert_eq!(response.text().await.unwrap(), r#"{"message":"Not Found"}"#);
    assert!(functions.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_route_that_takes_options_gets_the_preflight_as_on_api_gateway() {
    // GIVEN CORS and an ANY route (a $default or OPTIONS route would do the same)
    let (base, functions) = spawn_api(Some(console_cors())).await;

    // WHEN a preflight is sent to it
    let response = preflight(&base, "/any/1", "https://console.test").await;

    // THEN its function answers, with the CORS headers of any answer
    assert_eq!(response.status(), 200);
    assert_eq!(
        cors_headers(&response)["access-control-allow-origin"],
        "https://console.test"
    );
    let calls = functions.calls.lock().unwrap();
    assert_eq!(calls[0].1["requestContext"]["http"]["method"], "OPTIONS");
}

#[tokio::test]
async fn every_answer_to_an_allowed_origin_carries_the_configured_cors_headers_instead_of_the_functions() {
    // GIVEN CORS that allows every http:// origin, and a function that sends CORS headers of its own
    let (base, _) = spawn_api(Some(console_cors())).await;
    let expected = headers(&[
        ("access-control-allow-origin", "http://localhost:8080"),
        ("access-control-expose-headers", "x-request-id,retry-after"),
    ]);

    // WHEN a function answers, an authorizer refuses, and no route matches
    for (path, status) in [("/echo/1", 200), ("/secure/1", 401), ("/nowhere", 404)] {
        let response = get_from(&base, path, Some("http://localhost:8080")).await;

        // THEN each answer carries the configured headers, and only those
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(cors_headers(&response), expected, "{path}");
    }
}

#[tokio::test]
async fn answers_to_another_origin_or_to_no_origin_carry_no_cors_headers_not_even_the_functions() {
    let (base, _) = spawn_api(Some(console_cors())).await;
    for origin in [Some("https://evil.test"), None] {
        let response = get_from(&base, "/echo/1", origin).await;
        assert_eq!(response.status(), 200);
        assert_eq!(cors_headers(&response), headers(&[]), "{origin:?}");
        assert_eq!(response.headers()["x-request-id"], "r-1");
    }
}

#[tokio::test]
async fn without_cors_the_functions_own_cors_headers_pass_through() {
    let (base, _) = spawn_api(None).await;
    let response = get_from(&base, "/echo/1", Some("https://console.test")).await;
    assert_eq!(
        cors_headers(&response),
        headers(&[
            ("access-control-allow-origin", "*"),
            ("access-control-expose-headers", "x-secret"),
        ])
    );
}

/// Sends `request` as it is on a new connection and reads until the server closes it.
async fn raw_exchange(base: &str, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8(answer).unwrap()
}

#[tokio::test]
async fn a_head_request_gets_its_routes_status_and_headers_and_no_body() {
    // GIVEN a HEAD route whose function answers with a body
    let (base, functions) = spawn_api(None).await;

    // WHEN HEAD is sent on a raw connection (an HTTP client would not read a body that came anyway)
    let answer = raw_exchange(&base, "HEAD /echo/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await;

    // THEN the status and headers arrive, and nothing after them
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\ncontent-type: application/json\r\n"), "{head}");
    assert!(head.contains("\r\nx-request-id: r-1\r\n"), "{head}");
    assert_eq!(body, "");
    // AND the function saw a HEAD on its HEAD route
    assert_eq!(functions.calls.lock().unwrap()[0].1["routeKey"], "HEAD /echo/{id}");
}

#[tokio::test]
async fn head_is_not_routed_to_a_get_route() {
    let base = spawn().await;
    let response = reqwest::Client::new()
        .head(format!("{base}/crash/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}
