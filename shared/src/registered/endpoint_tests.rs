//! Endpoint calls against a local server, and the address checks.

use std::net::IpAddr;

use serde_json::json;

use super::*;
use crate::providers::replay::{serve, Answer};

fn local() -> EndpointPolicy {
    EndpointPolicy {
        timeout: Duration::from_secs(2),
        allow_private: true,
    }
}

#[test]
fn private_loopback_link_local_and_shared_addresses_are_refused() {
    for ip in [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:10.0.0.1",
        "0.0.0.0",
    ] {
        assert!(is_private(ip.parse::<IpAddr>().unwrap()), "{ip}");
    }
    for ip in ["93.184.216.34", "2606:2800:220:1::1"] {
        assert!(!is_private(ip.parse::<IpAddr>().unwrap()), "{ip}");
    }
}

#[tokio::test]
async fn the_arguments_are_posted_and_the_json_answer_returned() {
    let (base, received) = serve(vec![Answer::json(200, &json!({"temperature": 21}))]).await;
    let out = call(&format!("{base}/weather"), &json!({"city": "Paris"}), local())
        .await
        .unwrap();
    assert_eq!(out, json!({"temperature": 21}));
    assert_eq!(received.lock().unwrap()[0].body, json!({"city": "Paris"}));
}

#[tokio::test]
async fn redirects_errors_and_private_addresses_are_refusals_not_answers() {
    let mut redirect = Answer::json(302, &json!({}));
    redirect
        .headers
        .push(("location", "http://169.254.169.254/latest/meta-data"));
    let (base, _) = serve(vec![redirect, Answer::json(500, &json!({"boom": true}))]).await;
    let err = call(&base, &json!({}), local()).await.unwrap_err();
    assert!(err.contains("redirects are not followed"), "{err}");
    let err = call(&base, &json!({}), local()).await.unwrap_err();
    assert!(err.contains("500"), "{err}");
    let strict = EndpointPolicy {
        allow_private: false,
        ..local()
    };
    let err = call("https://127.0.0.1:9/x", &json!({}), strict).await.unwrap_err();
    assert!(err.contains("private addresses"), "{err}");
}
