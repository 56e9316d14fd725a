//! Per-principal rate limits through the gateway: N of N+10 rapid requests pass, then 429 with
//! `Retry-After` until the bucket refills.

use serde_json::{json, Value};

use crate::auth_matrix::{bearer, call, guarded_route, jwt, secret, Route, Targets};
use crate::helpers::{fresh_tenant, gateway_url, http, Credential};

/// The viewer's limit in the test stack, as (requests, period in seconds).
fn viewer_limit() -> (u64, u64) {
    let limit =
        std::env::var("MCPFLOW_TEST_VIEWER_LIMIT").unwrap_or_else(|_| panic!("{}", crate::helpers::NEEDS_STACK));
    let (n, per) = limit.split_once('/').unwrap();
    (n.parse().unwrap(), per.parse().unwrap())
}

/// Sends `count` requests to `route` as `caller`, one after the other as fast as the stack answers them:
/// how many passed, the responses that were limited (in order), and how many milliseconds the burst took.
async fn burst(route: &Route, caller: &Credential, count: u64) -> (u64, Vec<reqwest::Response>, u64) {
    let started = std::time::Instant::now();
    let mut passed = 0u64;
    let mut limited = Vec::new();
    for _ in 0..count {
        let url = format!("{}{}", gateway_url(), route.path);
        let response = http().get(url).header(caller.0, &caller.1).send().await.unwrap();
        match response.status().as_u16() {
            200 => passed += 1,
            429 => limited.push(response),
            other => panic!("unexpected {other}"),
        }
    }
    (passed, limited, u64::try_from(started.elapsed().as_millis()).unwrap())
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_principal_over_its_limit_gets_429_with_retry_after_until_the_bucket_refills() {
    // GIVEN a viewer of a fresh tenant, whose role allows N requests per period in the test stack
    let (n, per) = viewer_limit();
    let interval_ms = per * 1000 / n;
    let caller = bearer(&jwt(&fresh_tenant("rate"), "viewer", &json!({}), &secret()));
    let models = guarded_route("GET", "/api/v1/mcp/models");
    // WHEN N + 10 requests arrive as fast as the stack answers them
    let (passed, mut limited, elapsed_ms) = burst(&models, &caller, n + 10).await;
    // THEN exactly N pass (plus a token for each interval the burst itself took), the rest are 429
    assert!(
        passed >= n && passed <= n + elapsed_ms / interval_ms,
        "{passed} passed in {elapsed_ms} ms"
    );
    let last = limited.pop().expect("some requests must be limited");
    let retry_after: u64 = last.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    let body: Value = last.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    // AND after Retry-After a request passes again
    tokio::time::sleep(std::time::Duration::from_secs(retry_after)).await;
    let (status, body) = call(&models, Some(&caller), &Targets::default()).await;
    assert_eq!(status, 200, "{body}");
}
