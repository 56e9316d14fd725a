//! The HTTP API of a fixture template, served as `local-gateway serve` serves it, with its functions
//! behind a Lambda Invoke API run by the test: CORS turned on and off by a template parameter, and a
//! HEAD route. Needs no emulator and no fixed port.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::routing::post;
use gateway::invoke::LambdaInvoker;
use gateway::server::{router, HttpApi};
use gateway::template::Template;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Invoked = Arc<Mutex<Vec<String>>>;

/// `authorizer` allows the key `good`; `items` answers with a body and a CORS header of its own.
async fn invocations(
    State(invoked): State<Invoked>,
    UrlPath(name): UrlPath<String>,
    body: String,
) -> axum::Json<Value> {
    let event: Value = serde_json::from_str(&body).unwrap();
    invoked.lock().unwrap().push(name.clone());
    axum::Json(match name.as_str() {
        "authorizer" => json!({"isAuthorized": event["identitySource"][0] == "good"}),
        _ => json!({"statusCode": 200,
            "headers": {"content-type": "application/json", "x-request-id": "r-1", "access-control-allow-origin": "*"},
            "body": json!({"id": event["pathParameters"]["id"]}).to_string()}),
    })
}

/// The fixture's API on a free port, with `CorsAllowedOrigins` set to `origins`; its base URL and the
/// functions invoked so far.
async fn given_the_fixture_api(origins: &str) -> (String, Invoked) {
    let invoked = Invoked::default();
    let app = axum::Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invocations))
        .with_state(Arc::clone(&invoked));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let functions = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let template =
        Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/http-cors.yaml")).unwrap();
    let parameters = BTreeMap::from([("CorsAllowedOrigins".to_owned(), origins.to_owned())]);
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .region(aws_sdk_lambda::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "http-cors-test",
        ))
        .endpoint_url(functions)
        .build();
    let invoker = LambdaInvoker::new(aws_sdk_lambda::Client::from_conf(config));
    let api = HttpApi::from_template(&template, &parameters, invoker, Duration::from_secs(5)).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(Arc::new(api)).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, invoked)
}

async fn when_a_browser_sends_a_preflight(base: &str, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{base}/items/7"))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "x-api-key")
        .send()
        .await
        .unwrap()
}

fn cors_headers(response: &reqwest::Response) -> Vec<(String, String)> {
    let mut out: Vec<_> = response
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    out.sort();
    out
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[tokio::test]
async fn with_origins_given_the_gateway_answers_preflights_and_puts_its_cors_headers_on_answers() {
    // GIVEN the fixture API with CORS for the console's origin
    let (base, invoked) = given_the_fixture_api("https://console.test,http://localhost:8080").await;

    // WHEN the console sends a preflight
    let preflight = when_a_browser_sends_a_preflight(&base, "https://console.test").await;

    // THEN the gateway answers it with the configured headers, before the authorizer
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        cors_headers(&preflight),
        pairs(&[
            ("access-control-allow-headers", "x-api-key,content-type"),
            ("access-control-allow-methods", "GET,HEAD,OPTIONS"),
            ("access-control-allow-origin", "https://console.test"),
            ("access-control-max-age", "600"),
        ])
    );
    assert!(invoked.lock().unwrap().is_empty());

    // AND the GET that follows gets the allow and expose headers, not the function's own
    let get = reqwest::Client::new()
        .get(format!("{base}/items/7"))
        .header("origin", "https://console.test")
        .header("x-api-key", "good")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    assert_eq!(
        cors_headers(&get),
        pairs(&[
            ("access-control-allow-origin", "https://console.test"),
            ("access-control-expose-headers", "x-request-id"),
        ])
    );
    assert_eq!(*invoked.lock().unwrap(), ["authorizer", "items"]);

    // AND another origin's preflight gets 204 with no CORS header at all
    let other = when_a_browser_sends_a_preflight(&base, "https://evil.test").await;
    assert_eq!((other.status().as_u16(), cors_headers(&other)), (204, vec![]));
}

#[tokio::test]
async fn without_origins_cors_is_off_and_a_preflight_gets_the_404_of_an_unrouted_request() {
    let (base, invoked) = given_the_fixture_api("").await;
    let preflight = when_a_browser_sends_a_preflight(&base, "https://console.test").await;
    assert_eq!(preflight.status(), 404);
    assert_eq!(cors_headers(&preflight), vec![]);
    assert_eq!(preflight.text().await.unwrap(), r#"{"message":"Not Found"}"#);
    assert!(invoked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_head_request_goes_through_the_authorizer_to_its_head_route_and_gets_no_body() {
    // GIVEN the fixture API
    let (base, invoked) = given_the_fixture_api("https://console.test").await;

    // WHEN HEAD is sent with a good key, on a raw connection (a client would not read a body anyway)
    let request = "HEAD /items/7 HTTP/1.1\r\nHost: t\r\nx-api-key: good\r\nConnection: close\r\n\r\n";
    let mut stream = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();

    // THEN the function's status and headers arrive, and no body
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\nx-request-id: r-1\r\n"), "{head}");
    assert_eq!(body, "");
    assert_eq!(*invoked.lock().unwrap(), ["authorizer", "items"]);
}
