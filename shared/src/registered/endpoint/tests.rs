//! Endpoint calls against local servers, the address checks and the DNS limit.

use std::net::IpAddr;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::*;
use crate::providers::replay::{serve, Answer};

fn local() -> EndpointPolicy {
    EndpointPolicy {
        timeout: Duration::from_secs(2),
        allow_private: true,
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Each required IPv4 range with its first and last (or a telling) address.
const BLOCKED_V4_CASES: [(&str, &str); 30] = [
    ("0.0.0.0/8", "0.0.0.0"),
    ("0.0.0.0/8", "0.255.255.255"),
    ("10/8", "10.0.0.0"),
    ("10/8", "10.255.255.255"),
    ("100.64.0.0/10", "100.64.0.0"),
    ("100.64.0.0/10", "100.127.255.255"),
    ("127/8", "127.0.0.1"),
    ("127/8", "127.255.255.255"),
    ("169.254/16", "169.254.0.0"),
    ("169.254/16", "169.254.169.254"),
    ("172.16/12", "172.16.0.0"),
    ("172.16/12", "172.31.255.255"),
    ("192.0.0.0/24", "192.0.0.0"),
    ("192.0.0.0/24", "192.0.0.255"),
    ("192.0.2.0/24", "192.0.2.0"),
    ("192.0.2.0/24", "192.0.2.255"),
    ("192.88.99.0/24", "192.88.99.0"),
    ("192.88.99.0/24", "192.88.99.255"),
    ("192.168/16", "192.168.0.0"),
    ("192.168/16", "192.168.255.255"),
    ("198.18.0.0/15", "198.18.0.0"),
    ("198.18.0.0/15", "198.19.255.255"),
    ("198.51.100.0/24", "198.51.100.0"),
    ("198.51.100.0/24", "198.51.100.255"),
    ("203.0.113.0/24", "203.0.113.0"),
    ("203.0.113.0/24", "203.0.113.255"),
    ("224/4 multicast", "224.0.0.0"),
    ("224/4 multicast", "239.255.255.255"),
    ("240/4", "240.0.0.0"),
    ("240/4 broadcast", "255.255.255.255"),
];

/// Public IPv4 addresses, most just outside a blocked range.
const PUBLIC_V4: [&str; 25] = [
    "1.0.0.0",
    "9.255.255.255",
    "11.0.0.0",
    "100.63.255.255",
    "100.128.0.0",
    "126.255.255.255",
    "128.0.0.0",
    "169.253.255.255",
    "169.255.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.0.1.0",
    "192.0.3.0",
    "192.88.98.255",
    "192.88.100.0",
    "192.167.255.255",
    "192.169.0.0",
    "198.17.255.255",
    "198.20.0.0",
    "198.51.99.255",
    "198.51.101.0",
    "203.0.112.255",
    "203.0.114.0",
    "223.255.255.255",
    "93.184.216.34",
];

/// Each required IPv6 range with addresses in it.
const BLOCKED_V6_CASES: [(&str, &str); 32] = [
    ("::/128 unspecified", "::"),
    ("::1 loopback", "::1"),
    ("::/96 IPv4-compatible", "::7f00:1"),
    ("::/96 IPv4-compatible", "::5db8:d822"),
    ("::ffff:0:0/96 mapping loopback", "::ffff:127.0.0.1"),
    ("::ffff:0:0/96 mapping private", "::ffff:10.0.0.1"),
    ("::ffff:0:0/96 mapping metadata", "::ffff:169.254.169.254"),
    ("::ffff:0:0/96 mapping this network", "::ffff:0.0.0.0"),
    ("64:ff9b::/96 NAT64 of metadata", "64:ff9b::a9fe:a9fe"),
    ("64:ff9b::/96 NAT64 of loopback", "64:ff9b::7f00:1"),
    ("64:ff9b:1::/48 local NAT64", "64:ff9b:1::"),
    ("64:ff9b:1::/48 local NAT64", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff"),
    ("100::/64 discard", "100::"),
    ("100::/64 discard", "100::ffff:ffff:ffff:ffff"),
    ("2001::/23 IETF", "2001::1"),
    ("2001::/32 Teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2"),
    ("2001::/23 IETF", "2001:1ff:ffff::1"),
    ("2001:db8::/32 documentation", "2001:db8::"),
    ("2001:db8::/32 documentation", "2001:db8:ffff:ffff::1"),
    ("2002::/16 6to4", "2002::"),
    ("2002::/16 6to4", "2002:c0a8:101::1"),
    ("3fff::/20 documentation", "3fff:fff::1"),
    ("5f00::/16 SRv6", "5f00::1"),
    ("fc00::/7 unique local", "fc00::"),
    ("fc00::/7 unique local", "fdff:ffff::1"),
    ("fe80::/10 link-local", "fe80::1"),
    ("fe80::/10 link-local", "febf:ffff::1"),
    ("fec0::/10 site-local", "fec0::1"),
    ("fec0::/10 site-local", "feff::1"),
    ("ff00::/8 multicast", "ff02::1"),
    ("ff00::/8 multicast", "ff0e::1"),
    ("ff00::/8 multicast", "ffff::1"),
];

/// Public IPv6 addresses, some just outside a blocked range, and ones carrying a public IPv4.
const PUBLIC_V6: [&str; 10] = [
    "2606:2800:220:1::1",
    "2a00:1450:4001::1",
    "2001:200::1",
    "2001:db7:ffff::1",
    "2001:db9::1",
    "2003::1",
    "100:0:0:1::",
    "fbff:ffff::1",
    "::ffff:93.184.216.34",
    "64:ff9b::5db8:d822",
];

#[test]
fn every_special_purpose_range_is_refused_ipv4_and_ipv6() {
    for (range, a) in BLOCKED_V4_CASES.iter().chain(&BLOCKED_V6_CASES) {
        assert!(is_blocked(ip(a)), "{a} is in {range}");
    }
}

#[test]
fn public_addresses_just_outside_the_ranges_or_carrying_a_public_ipv4_are_allowed() {
    for a in PUBLIC_V4.iter().chain(&PUBLIC_V6) {
        assert!(!is_blocked(ip(a)), "{a} is a public address");
    }
}

#[tokio::test]
async fn a_resolver_that_hangs_is_given_up_after_the_dns_timeout() {
    // GIVEN a lookup that never answers
    let hanging = std::future::pending::<io::Result<std::vec::IntoIter<SocketAddr>>>();
    // WHEN it is given 50 ms
    let started = Instant::now();
    let err = resolve("slow.example", hanging, Duration::from_millis(50))
        .await
        .unwrap_err();
    // THEN the call gives up then, naming the host
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(err.to_string(), "slow.example did not resolve within 50ms");
}

#[test]
fn dns_gets_two_seconds_or_the_whole_timeout_when_that_is_shorter() {
    let policy = |ms| EndpointPolicy {
        timeout: Duration::from_millis(ms),
        allow_private: false,
    };
    assert_eq!(policy(10_000).dns_timeout(), Duration::from_secs(2));
    assert_eq!(policy(500).dns_timeout(), Duration::from_millis(500));
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
async fn redirects_errors_and_blocked_addresses_are_refusals_not_answers() {
    let mut redirect = Answer::json(302, &json!({}));
    redirect
        .headers
        .push(("location", "http://169.254.169.254/latest/meta-data"));
    let (base, received) = serve(vec![redirect, Answer::json(500, &json!({"boom": true}))]).await;
    let err = call(&base, &json!({}), local()).await.unwrap_err();
    assert!(matches!(err, CallError::Redirected(s) if s == 302), "{err}");
    let err = call(&base, &json!({}), local()).await.unwrap_err();
    assert!(
        err.to_string().contains("500") && err.to_string().contains("boom"),
        "{err}"
    );
    assert_eq!(received.lock().unwrap().len(), 2, "the redirect was not followed");
    let strict = EndpointPolicy {
        allow_private: false,
        ..local()
    };
    for url in [
        "https://127.0.0.1:9/x",
        "https://[::1]:9/x",
        "https://[::ffff:169.254.169.254]/x",
    ] {
        let err = call(url, &json!({}), strict).await.unwrap_err();
        assert!(err.to_string().contains("special-purpose"), "{url}: {err}");
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_failure_naming_it() {
    // Port 9 (discard) on loopback: nothing listens there.
    let err = call("http://127.0.0.1:9/x", &json!({}), local()).await.unwrap_err();
    assert!(matches!(err, CallError::Unreachable(_)), "{err}");
}

fn text_answer(bytes: usize) -> Answer {
    Answer {
        status: 200,
        headers: vec![("content-type", "text/plain")],
        chunks: vec![vec![b'x'; 8192]; bytes / 8192],
    }
}

#[tokio::test]
async fn an_answer_of_exactly_the_limit_is_returned_whole() {
    let (base, _) = serve(vec![text_answer(MAX_ANSWER_BYTES)]).await;
    let out = call(&base, &json!({}), local()).await.unwrap();
    assert_eq!(out.as_str().map(str::len), Some(MAX_ANSWER_BYTES));
}

#[tokio::test]
async fn reading_keeps_at_most_the_limit_of_a_larger_answer() {
    // GIVEN an answer of 320 KiB, streamed in 8 KiB chunks
    let (base, _) = serve(vec![text_answer(320 * 1024)]).await;
    let response = reqwest::Client::new().post(&base).send().await.unwrap();
    // WHEN it is read with the limit
    let (body, more) = read_capped(response, MAX_ANSWER_BYTES).await.unwrap();
    // THEN exactly the limit is kept, and the rest is known to exist
    assert_eq!((body.len(), more), (MAX_ANSWER_BYTES, true));
}

/// A server whose one answer is a `200` with the `head` given, then `x` in 16 KiB chunks until
/// the client hangs up; it returns how many body bytes it wrote.
async fn endless(head: &'static str) -> (String, JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let _ = socket.read(&mut [0; 4096]).await;
        socket.write_all(head.as_bytes()).await.unwrap();
        let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
        let mut written = 0;
        while socket.write_all(chunk.as_bytes()).await.is_ok() {
            written += 0x4000;
        }
        written
    });
    (base, task)
}

#[tokio::test]
async fn an_endless_answer_is_cut_at_the_limit_and_the_connection_dropped() {
    // GIVEN an endpoint that streams its answer forever
    let (base, server) =
        endless("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n").await;
    let policy = EndpointPolicy {
        timeout: Duration::from_secs(20),
        ..local()
    };
    // WHEN it is called
    let started = Instant::now();
    let err = call(&base, &json!({}), policy).await.unwrap_err();
    // THEN the call fails as too large, long before the timeout: it stopped reading at the limit
    assert!(matches!(err, CallError::TooLarge), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    // AND it hung up, so the server's writes fail
    let written = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(
        written.is_ok_and(|w| w.unwrap() > MAX_ANSWER_BYTES),
        "the server is still writing"
    );
}

#[tokio::test]
async fn an_announced_length_over_the_limit_is_refused_before_reading() {
    let (base, _server) =
        endless("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 10485760\r\n\r\n").await;
    let err = call(&base, &json!({}), local()).await.unwrap_err();
    assert_eq!(err.to_string(), "the endpoint's answer is larger than 262144 bytes");
}
