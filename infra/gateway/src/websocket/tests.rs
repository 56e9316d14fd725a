//! The WebSocket API with a stand-in invoker: the `$connect` function decides the handshake, messages
//! reach the selected route and its answer comes back, the management API pushes, describes and
//! closes, and a connection that is gone is `410`.

use std::sync::Mutex as StdMutex;

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as Frame;

use super::routes::{WsRoute, WsRoutes};
use super::*;
use crate::invoke::InvokeError;

/// Answers `$connect` 401 without an `authorization` header, echoes messages, records every event.
#[derive(Default)]
struct Recorder {
    events: StdMutex<Vec<Value>>,
}

impl Invoker for Arc<Recorder> {
    async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        let event: Value = serde_json::from_slice(&payload).unwrap();
        self.events.lock().unwrap().push(event.clone());
        let answer = match function {
            "connect" if event["headers"].get("authorization").is_none() => json!({"statusCode": 401}),
            "message" => json!({"statusCode": 200, "body": format!("echo {}", event["body"].as_str().unwrap())}),
            _ => json!({"statusCode": 200}),
        };
        Ok(answer.to_string().into_bytes())
    }
}

async fn start() -> (String, Arc<Recorder>, Arc<WebSocketApi<Arc<Recorder>>>) {
    let route = |f: &str, responds| WsRoute {
        function: f.into(),
        responds,
    };
    let routes = WsRoutes {
        api_id: "ws".into(),
        selection_field: Some("message_type".into()),
        routes: BTreeMap::from([
            ("$connect".to_owned(), route("connect", false)),
            ("$disconnect".to_owned(), route("disconnect", false)),
            ("$default".to_owned(), route("message", true)),
        ]),
    };
    let recorder = Arc::new(Recorder::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let api = Arc::new(WebSocketApi::new(
        routes,
        Arc::clone(&recorder),
        Duration::from_secs(5),
        "v1".into(),
        addr.to_string(),
    ));
    let app = router(Arc::clone(&api)).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr.to_string(), recorder, api)
}

async fn connect(
    addr: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/v1?token=t").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", "Bearer k".parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn next_text(
    ws: &mut (impl StreamExt<Item = Result<Frame, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> String {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap() {
            Some(Ok(Frame::Text(t))) => return t.to_string(),
            Some(Ok(Frame::Close(frame))) => return format!("closed {:?}", frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    }
}

async fn refused_status(url: String) -> u16 {
    let refused = tokio_tungstenite::connect_async(url).await.unwrap_err();
    let tokio_tungstenite::tungstenite::Error::Http(response) = refused else {
        panic!("{refused:?}")
    };
    response.status().as_u16()
}

#[tokio::test]
async fn a_handshake_the_connect_function_refuses_gets_its_status_and_one_off_the_stage_path_403() {
    let (addr, recorder, _) = start().await;
    assert_eq!(refused_status(format!("ws://{addr}/v1")).await, 401);
    assert_eq!(refused_status(format!("ws://{addr}/")).await, 403);
    assert_eq!(refused_status(format!("ws://{addr}/v2")).await, 403);
    // Off the stage path, no function ran.
    assert_eq!(recorder.events.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn messages_reach_their_route_and_the_answer_comes_back_and_closing_runs_disconnect() {
    let (addr, recorder, api) = start().await;
    let mut ws = connect(&addr).await;
    ws.send(Frame::Text(r#"{"message_type":"heartbeat"}"#.into()))
        .await
        .unwrap();
    assert_eq!(next_text(&mut ws).await, r#"echo {"message_type":"heartbeat"}"#);
    ws.close(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(api.open_connections(), 0);
    let events = recorder.events.lock().unwrap().clone();
    let seen: Vec<_> = events
        .iter()
        .map(|e| e["requestContext"]["eventType"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, ["CONNECT", "MESSAGE", "DISCONNECT"]);
    // The connect event carries the headers and query; every event names one connection.
    assert_eq!(events[0]["queryStringParameters"]["token"], "t");
    assert_eq!(events[0]["headers"]["authorization"], "Bearer k");
    let id = &events[0]["requestContext"]["connectionId"];
    assert!(events.iter().all(|e| &e["requestContext"]["connectionId"] == id));
    assert_eq!(events[1]["requestContext"]["routeKey"], "$default");
}

#[tokio::test]
async fn the_management_api_pushes_describes_and_closes_and_a_gone_connection_is_410() {
    let (addr, recorder, _) = start().await;
    let mut ws = connect(&addr).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let id = recorder.events.lock().unwrap()[0]["requestContext"]["connectionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/v1/@connections/{id}");
    let pushed = http.post(&url).body(r#"{"event":"x"}"#).send().await.unwrap();
    assert_eq!(pushed.status(), 200);
    assert_eq!(next_text(&mut ws).await, r#"{"event":"x"}"#);
    let described: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert!(described["connectedAt"].as_str().is_some(), "{described}");
    assert_eq!(http.delete(&url).send().await.unwrap().status(), 204);
    assert_eq!(next_text(&mut ws).await, "closed Some(1000)");
    drop(ws);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let gone = http.post(&url).body("late").send().await.unwrap();
    assert_eq!(gone.status(), 410);
    assert_eq!(gone.headers()["x-amzn-errortype"], "GoneException");
}

#[tokio::test]
async fn a_message_past_128_kib_closes_the_connection_with_1009() {
    let (addr, _, _) = start().await;
    let mut ws = connect(&addr).await;
    let big = "x".repeat(MAX_MESSAGE_BYTES + 1);
    // Sent in 16 KiB frames, as a client within the frame limit would.
    let _ = ws.send(Frame::Text(big.into())).await;
    assert_eq!(next_text(&mut ws).await, "closed Some(1009)");
}

#[test]
fn the_projects_template_routes_connect_disconnect_and_default_to_their_functions() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let template = crate::template::Template::load(&path).unwrap();
    let routes = WsRoutes::from_template(&template).unwrap().expect("a WebSocket API");
    assert_eq!(routes.selection_field.as_deref(), Some("message_type"));
    let seen: Vec<_> = routes
        .routes
        .iter()
        .map(|(k, r)| (k.as_str(), r.function.as_str(), r.responds))
        .collect();
    assert_eq!(
        seen,
        [
            ("$connect", "ws-connect", false),
            ("$default", "ws-message", true),
            ("$disconnect", "ws-disconnect", false)
        ]
    );
}
