//! The HTTP side over real HTTP, with an in-memory function in place of `cargo lambda watch`.

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
            "echo" => Ok(
                json!({"statusCode": 200, "headers": {"content-type": "application/json"},
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
    let functions = [
        ("echo", "echo", None),
        ("crash", "crash", None),
        ("secure", "echo", Some("Keys")),
    ]
    .map(|(name, binary, authorizer): (&str, &str, Option<&str>)| FunctionDef {
        logical_id: name.into(),
        binary: binary.into(),
        http_routes: vec![HttpRoute {
            method: "GET".into(),
            path: format!("/{name}/{{id}}"),
            authorizer: authorizer.map(str::to_owned),
        }],
        sqs_triggers: vec![],
        schedules: vec![],
    });
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
        invoker: Functions::default(),
        timeout: Duration::from_secs(5),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(Arc::new(api)).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
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
