//! The WebSocket API as the CLI uses it: connect with the target's credential, subscribe, send
//! requests and heartbeats in the protocol's envelope.

use std::time::Duration;

use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::api::{is_jwt, Api};

/// How often a connection says it is alive (the API closes one idle for 10 minutes).
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(30);

/// The `n`th heartbeat.
#[must_use]
fn heartbeat(n: u64) -> Message {
    let beat = json!({"protocol_version": "2.0", "message_type": "heartbeat", "message_id": format!("hb-{n}")});
    Message::text(beat.to_string())
}

/// An open connection.
pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A request in the protocol's envelope.
#[must_use]
pub fn envelope(id: &str, method: &str, params: &Value) -> Message {
    Message::text(
        json!({"protocol_version": "2.0", "message_type": "request", "message_id": id, "method": method,
        "params": params})
        .to_string(),
    )
}

/// A subscribed connection read event by event, heartbeating on its own.
pub struct Follow {
    pub socket: Socket,
    beat: tokio::time::Interval,
    beats: u64,
    closed: bool,
}

impl Follow {
    #[must_use]
    pub fn new(socket: Socket) -> Self {
        let mut beat = tokio::time::interval(HEARTBEAT_EVERY);
        beat.reset();
        Self {
            socket,
            beat,
            beats: 0,
            closed: false,
        }
    }

    /// The next message the server pushes, as JSON. A connection that broke or closed gives nothing
    /// more (the caller's own reads carry on).
    pub async fn next(&mut self) -> Value {
        loop {
            if self.closed {
                std::future::pending::<()>().await;
            }
            tokio::select! {
                _ = self.beat.tick() => {
                    self.beats += 1;
                    if self.socket.send(heartbeat(self.beats)).await.is_err() {
                        self.closed = true;
                    }
                }
                message = self.socket.next() => match message {
                    Some(Ok(Message::Text(text))) => {
                        return serde_json::from_str(text.as_str()).unwrap_or_default();
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => self.closed = true,
                },
            }
        }
    }

    /// Sends a request; one that cannot be sent is dropped (what it asked for is a bonus).
    pub async fn request(&mut self, id: &str, method: &str, params: &Value) {
        if self.socket.send(envelope(id, method, params)).await.is_err() {
            self.closed = true;
        }
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

/// Makes rustls's aws-lc-rs provider the process's: tungstenite builds its `wss://` client
/// configuration from the process default.
pub fn choose_tls_provider() {
    // Already installed (a second call) is fine.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Opens the WebSocket with the target's credential and subscribes to `topic`.
///
/// # Errors
/// When the WebSocket cannot be opened or the subscription is refused.
pub async fn connect(api: &Api, topic: &str) -> anyhow::Result<Socket> {
    let url = api.target.websocket()?;
    let mut request = url.as_str().into_client_request()?;
    let key = &api.target.key;
    let (name, value) = if is_jwt(key) {
        ("authorization", format!("Bearer {key}"))
    } else {
        ("x-api-key", key.clone())
    };
    request.headers_mut().insert(name, value.parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .with_context(|| format!("cannot open the WebSocket at {url}"))?;
    socket
        .send(envelope("subscribe-1", "subscribe", &json!({"topics": [topic]})))
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .context("no answer to the subscription within 10 s")?;
        let Some(message) = next else {
            bail!("the WebSocket closed before the subscription was answered")
        };
        let Message::Text(text) = message? else { continue };
        let answer: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
        match answer["message_type"].as_str() {
            Some("response") if answer["request_id"] == "subscribe-1" => return Ok(socket),
            Some("error") => bail!(
                "subscription refused: {} {}",
                answer["error_code"].as_str().unwrap_or("ERROR"),
                answer["error_message"].as_str().unwrap_or_default()
            ),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_wss_handshake_builds_its_tls_client_and_fails_cleanly_on_a_peer_that_speaks_no_tls() {
        super::choose_tls_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            // Accepts, then hangs up before any TLS.
            let _ = listener.accept().await;
        });
        let url = format!("wss://127.0.0.1:{port}/v1");
        assert!(tokio_tungstenite::connect_async(url).await.is_err());
    }
}
