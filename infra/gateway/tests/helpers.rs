//! Where the local stack is, and AWS clients for it (from the same standard variables the functions use).

use std::time::Duration;

pub const NEEDS_STACK: &str = "needs the local stack: run `make test`";

/// The gateway's base URL: `GATEWAY_URL`, else `http://127.0.0.1:$GATEWAY_PORT`.
pub fn gateway_url() -> String {
    std::env::var("GATEWAY_URL").unwrap_or_else(|_| {
        format!(
            "http://127.0.0.1:{}",
            std::env::var("GATEWAY_PORT").unwrap_or_else(|_| "3000".into())
        )
    })
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// `GET path` on the gateway, as status and JSON body.
pub async fn get_json(path: &str) -> (u16, serde_json::Value) {
    let response = http()
        .get(format!("{}{path}", gateway_url()))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!("gateway at {} did not answer ({e}); {NEEDS_STACK}", gateway_url());
        });
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}
