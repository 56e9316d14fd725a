//! A local HTTP server that replays a provider's real wire format, one scripted answer per request,
//! and records what it was sent. The body of an answer is sent in the given chunks, so streamed
//! events arrive split the way networks split them.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

/// One scripted answer.
#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, &'static str)>,
    pub chunks: Vec<Vec<u8>>,
}

impl Answer {
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json")],
            chunks: vec![body.to_string().into_bytes()],
        }
    }

    /// An AWS JSON-protocol error: the type in `x-amzn-errortype`, the message in the body.
    pub fn aws_error(status: u16, kind: &'static str, message: &str) -> Self {
        let mut answer = Self::json(status, &serde_json::json!({"message": message}));
        answer.headers.push(("x-amzn-errortype", kind));
        answer
    }

    /// A `200` JSON answer (what an AWS JSON-protocol call answers on success).
    pub fn ok(body: &serde_json::Value) -> Self {
        Self::json(200, body)
    }

    pub fn sse(chunks: &[&str]) -> Self {
        let chunks = chunks.iter().map(|c| c.as_bytes().to_vec()).collect();
        Self {
            status: 200,
            headers: vec![("content-type", "text/event-stream")],
            chunks,
        }
    }
}

/// What the server was sent.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: serde_json::Value,
}

impl Received {
    /// The AWS JSON-protocol operation it called (`x-amz-target`, e.g. `DynamoDB_20120810.Query`).
    #[must_use]
    pub fn target(&self) -> &str {
        self.headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<Vec<Answer>>>,
    received: Arc<Mutex<Vec<Received>>>,
}

async fn reply(State(script): State<Script>, uri: axum::http::Uri, headers: HeaderMap, body: Bytes) -> Response {
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    script.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    let answer = script.answers.lock().unwrap().remove(0);
    let stream = futures::stream::iter(
        answer
            .chunks
            .into_iter()
            .map(|c| Ok::<_, std::io::Error>(Bytes::from(c))),
    );
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap();
    for (k, v) in answer.headers {
        response.headers_mut().insert(k, v.parse().unwrap());
    }
    response
}

/// Starts a server that gives `answers` in order; returns its base URL and what it received.
pub async fn serve(answers: Vec<Answer>) -> (String, Arc<Mutex<Vec<Received>>>) {
    let script = Script {
        answers: Arc::new(Mutex::new(answers)),
        received: Arc::default(),
    };
    let received = Arc::clone(&script.received);
    let app = axum::Router::new().fallback(reply).with_state(script);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), received)
}
