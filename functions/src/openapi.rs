//! `GET /api/v1/openapi.json`: the HTTP API's OpenAPI 3.1 document (`infra/api/openapi.json`),
//! embedded at build time, answered with an `ETag` (a `304` to a client that already has it) and a
//! `Cache-Control` that lets clients and caches keep it for a while.

use lambda_http::http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use lambda_http::http::HeaderValue;
use lambda_http::{Body, Request, Response};

use crate::http;

/// The document, as checked in (`infra/api/check_openapi.py` checks it against `template.yaml`).
pub const DOCUMENT: &str = include_str!("../../infra/api/openapi.json");

/// How long a client or a shared cache may keep the document without asking again.
pub const CACHE_CONTROL_VALUE: &str = "public, max-age=300";

/// The document's entity tag: a hash of its text, computed at build time.
#[must_use]
pub fn etag() -> String {
    format!("\"{:016x}\"", fnv1a(DOCUMENT.as_bytes()))
}

/// 64-bit FNV-1a: stable across builds and platforms, enough to tell two documents apart.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// Answers the document, or `304` when `If-None-Match` names its current `ETag` (or `*`).
#[must_use]
pub fn handle(req: &Request, etag: &str) -> Response<Body> {
    let known = req
        .headers()
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*");
    let mut response = if known {
        let mut r = http::respond(304, String::new());
        r.headers_mut().remove(lambda_http::http::header::CONTENT_TYPE);
        r
    } else {
        http::respond(200, DOCUMENT.to_owned())
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL_VALUE));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(ETAG, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_support::{body_json, event, event_edited};

    #[test]
    fn the_document_is_openapi_3_1_and_describes_its_own_route() {
        let response = handle(&event("openapi", "get"), &etag());
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers()["cache-control"], CACHE_CONTROL_VALUE);
        assert_eq!(response.headers()["etag"], etag().as_str());
        let doc = body_json(&response);
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1."),
            "{}",
            doc["openapi"]
        );
        assert!(doc["paths"]["/api/v1/openapi.json"]["get"].is_object());
    }

    #[test]
    fn a_client_holding_the_current_etag_gets_304_without_a_body() {
        let current = etag();
        let req = event_edited("openapi", "get", |e| {
            e["headers"]["if-none-match"] = current.clone().into()
        });
        let response = handle(&req, &current);
        assert_eq!(response.status(), 304);
        assert!(response.body().is_empty());
        assert_eq!(response.headers()["etag"], current.as_str());
    }

    #[test]
    fn a_client_holding_an_older_etag_gets_the_document() {
        let response = handle(&event("openapi", "get-stale-etag"), &etag());
        assert_eq!(response.status(), 200);
        assert!(body_json(&response)["paths"].is_object());
    }

    #[test]
    fn the_etag_changes_with_the_text() {
        assert_ne!(fnv1a(b"{\"openapi\":\"3.1.0\"}"), fnv1a(b"{\"openapi\":\"3.1.1\"}"));
    }
}
