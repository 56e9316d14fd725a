//! Calling a registered tool's endpoint: `POST` of the validated arguments as JSON.
//!
//! - The whole call, DNS included, takes at most the policy's timeout; DNS at most
//!   [`EndpointPolicy::dns_timeout`] of it, so a hanging resolver cannot hold the call.
//! - Proxy variables (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`) are ignored: the connection goes to
//!   the checked address, never through a proxy that would pick its own.
//! - Unless private endpoints are allowed, the address connected to may not be in a special-purpose
//!   range ([`ranges`]): the host is resolved here, the address checked, and the connection pinned
//!   to it, so DNS cannot swap it afterwards.
//! - Redirects are not followed: a `3xx` is a failure.
//! - The answer is read as a stream and the call fails once it passes [`MAX_ANSWER_BYTES`]; no
//!   more than that is ever held.

pub mod ranges;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::{redirect, Response, StatusCode, Url};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

pub use ranges::is_blocked;

/// Largest answer read from an endpoint.
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// Longest wait for DNS (the policy's timeout when that is shorter).
pub const DNS_TIMEOUT: Duration = Duration::from_secs(2);

/// Bytes of a non-2xx answer read for the error message.
const EXCERPT_BYTES: usize = 2048;

/// How endpoints may be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointPolicy {
    pub timeout: Duration,
    /// `http://` and special-purpose addresses: for a local stack only.
    pub allow_private: bool,
}

impl EndpointPolicy {
    /// How long DNS may take: [`DNS_TIMEOUT`], or the whole timeout when that is shorter.
    #[must_use]
    pub fn dns_timeout(self) -> Duration {
        self.timeout.min(DNS_TIMEOUT)
    }
}

/// Why a call failed: each is the endpoint's failure, told to whoever called the tool.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The URL is not allowed, or its host resolves only to blocked addresses.
    #[error("{0}")]
    Refused(String),
    #[error("{host} did not resolve within {limit:?}")]
    DnsTimeout { host: String, limit: Duration },
    #[error("cannot resolve {host}: {message}")]
    Unresolved { host: String, message: String },
    #[error("the endpoint did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the endpoint could not be reached: {0}")]
    Unreachable(String),
    #[error("the endpoint answered {0}; redirects are not followed")]
    Redirected(StatusCode),
    #[error("the endpoint answered {status}: {excerpt}")]
    Status { status: StatusCode, excerpt: String },
    #[error("the endpoint's answer is larger than {MAX_ANSWER_BYTES} bytes")]
    TooLarge,
    #[error("the endpoint's answer could not be read: {0}")]
    Unreadable(String),
}

/// Checks the URL's form: `https://host…` (or `http://` when allowed), no credentials in it.
///
/// # Errors
/// A message saying what is wrong.
pub fn check_url(raw: &str, allow_http: bool) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("is not a URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        _ => return Err("must be an https:// URL".into()),
    }
    if url.host_str().is_none_or(str::is_empty) || !url.username().is_empty() || url.password().is_some() {
        return Err("must name a host and carry no credentials".into());
    }
    Ok(url)
}

/// `lookup`'s addresses, if it answers within `limit`.
async fn resolve<I>(
    host: &str,
    lookup: impl Future<Output = io::Result<I>>,
    limit: Duration,
) -> Result<Vec<SocketAddr>, CallError>
where
    I: Iterator<Item = SocketAddr>,
{
    let host = host.to_owned();
    match tokio::time::timeout(limit, lookup).await {
        Err(_) => Err(CallError::DnsTimeout { host, limit }),
        Ok(Err(e)) => Err(CallError::Unresolved {
            host,
            message: e.to_string(),
        }),
        Ok(Ok(found)) => Ok(found.collect()),
    }
}

/// Resolves the URL's host (within the policy's DNS timeout) to one allowed address.
async fn address(url: &Url, policy: EndpointPolicy) -> Result<SocketAddr, CallError> {
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
    let port = url.port_or_known_default().unwrap_or(443);
    let lookup = tokio::net::lookup_host((host, port));
    let found = resolve(host, lookup, policy.dns_timeout()).await?;
    found
        .into_iter()
        .find(|a| policy.allow_private || !is_blocked(a.ip()))
        .ok_or_else(|| {
            CallError::Refused(format!(
                "{host} resolves only to special-purpose (private, loopback, link-local, reserved…) \
                 addresses, which tool endpoints may not reach"
            ))
        })
}

/// A client for one call: pinned to `addr`, no proxy, no redirects, `timeout` in all.
fn client(url: &Url, addr: SocketAddr, timeout: Duration) -> Result<reqwest::Client, CallError> {
    crate::tls::client_builder()
        .no_proxy()
        .redirect(redirect::Policy::none())
        .timeout(timeout)
        .resolve(url.host_str().unwrap_or_default(), addr)
        .build()
        .map_err(|e| CallError::Unreachable(e.to_string()))
}

/// Reads `response` as it arrives, keeping at most `limit` bytes; `true` when it had more. Reading
/// stops at the limit and the connection is dropped, so a larger answer is never held.
///
/// # Errors
/// The transport's error (the client's timeout among them).
pub async fn read_capped(mut response: Response, limit: usize) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let announced = response.content_length().and_then(|n| usize::try_from(n).ok());
    let mut body = Vec::with_capacity(announced.unwrap_or(0).min(limit));
    while let Some(chunk) = response.chunk().await? {
        let room = limit - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// A non-2xx answer as an error, with the first 500 characters of its body.
async fn refusal(response: Response) -> CallError {
    let status = response.status();
    if status.is_redirection() {
        return CallError::Redirected(status);
    }
    let (excerpt, _) = read_capped(response, EXCERPT_BYTES).await.unwrap_or_default();
    CallError::Status {
        status,
        excerpt: String::from_utf8_lossy(&excerpt).chars().take(500).collect(),
    }
}

/// A transport error: the timeout, or `other` with its message.
fn transport(e: &reqwest::Error, timeout: Duration, other: fn(String) -> CallError) -> CallError {
    if e.is_timeout() {
        CallError::Timeout(timeout)
    } else {
        other(e.to_string())
    }
}

/// Calls the endpoint with `args`; its JSON answer (or text, as a JSON string).
///
/// # Errors
/// [`CallError`]: refused, unresolved, unreachable, timed out, redirected, a non-2xx answer, or an
/// answer over [`MAX_ANSWER_BYTES`].
pub async fn call(raw: &str, args: &Value, policy: EndpointPolicy) -> Result<Value, CallError> {
    post(raw, args.to_string().into_bytes(), &[], policy).await
}

/// The most notifications one streamed answer may carry.
pub const MAX_NOTIFICATIONS: usize = 100;

/// The most lines (blank ones included) one streamed answer may have.
pub const MAX_LINES: usize = 1_000;

/// Calls the endpoint with `args` as [`call`] does, and reads an `application/x-ndjson` answer as it
/// arrives: each line a JSON object; one with a `method` (an MCP notification such as
/// `notifications/progress` or `notifications/message`) is sent to `notes` as soon as its line is
/// read, and the one line without is the answer. Any other answer is read as [`call`] reads it.
///
/// # Errors
/// As [`call`]; [`CallError::Unreadable`] for a line that is not a JSON object, more than
/// [`MAX_NOTIFICATIONS`] notifications, or no answer line.
pub async fn call_streaming(
    raw: &str,
    args: &Value,
    policy: EndpointPolicy,
    notes: &UnboundedSender<Value>,
) -> Result<Value, CallError> {
    let response = send(raw, args.to_string().into_bytes(), &[], policy).await?;
    let ndjson = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-ndjson"));
    if !ndjson {
        return read_json(response, policy).await;
    }
    read_lines(response, policy, notes).await
}

/// The lines of an NDJSON answer, as [`call_streaming`] reads them.
async fn read_lines(
    mut response: Response,
    policy: EndpointPolicy,
    notes: &UnboundedSender<Value>,
) -> Result<Value, CallError> {
    let unreadable = |m: &str| CallError::Unreadable(m.to_owned());
    let (mut pending, mut read, mut sent, mut answer) = (Vec::new(), 0, 0, None);
    let mut lines = 0;
    let mut take = |line: &[u8]| -> Result<(), CallError> {
        lines += 1;
        if lines > MAX_LINES {
            return Err(unreadable("more than 1000 lines"));
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let value: Value = serde_json::from_slice(line).map_err(|_| unreadable("a line is not JSON"))?;
        match &value {
            Value::Object(obj) if obj.get("method").is_some_and(Value::is_string) => {
                sent += 1;
                if sent > MAX_NOTIFICATIONS {
                    return Err(unreadable("more than 100 notifications"));
                }
                // A caller that stopped listening loses the notification, not the call.
                let _ = notes.send(value);
            }
            Value::Object(_) if answer.is_none() => answer = Some(value),
            Value::Object(_) => return Err(unreadable("more than one answer line")),
            _ => return Err(unreadable("a line is not a JSON object")),
        }
        Ok(())
    };
    loop {
        let chunk = response.chunk().await;
        let Some(chunk) = chunk.map_err(|e| transport(&e, policy.timeout, CallError::Unreadable))? else {
            break;
        };
        read += chunk.len();
        if read > MAX_ANSWER_BYTES {
            return Err(CallError::TooLarge);
        }
        pending.extend_from_slice(&chunk);
        // Each byte is scanned once; the lines taken are dropped once a chunk.
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|b| *b == b'\n') {
            take(&pending[start..start + end])?;
            start += end + 1;
        }
        pending.drain(..start);
    }
    take(&pending)?;
    answer.ok_or_else(|| unreadable("no answer line (a JSON object without a method)"))
}

/// `POST`s `body` as JSON with `headers` to `raw`, under the same checks as [`call`]; the answer as
/// JSON (or as a string when it is not JSON).
///
/// # Errors
/// As [`call`].
pub async fn post(
    raw: &str,
    body: Vec<u8>,
    headers: &[(&str, String)],
    policy: EndpointPolicy,
) -> Result<Value, CallError> {
    let response = send(raw, body, headers, policy).await?;
    read_json(response, policy).await
}

/// Sends the request under [`call`]'s checks; a 2xx response, its body unread.
async fn send(
    raw: &str,
    body: Vec<u8>,
    headers: &[(&str, String)],
    policy: EndpointPolicy,
) -> Result<Response, CallError> {
    let started = Instant::now();
    let url = check_url(raw, policy.allow_private).map_err(CallError::Refused)?;
    let addr = address(&url, policy).await?;
    let client = client(&url, addr, policy.timeout.saturating_sub(started.elapsed()))?;
    let mut request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let sent = request.send().await;
    let response = sent.map_err(|e| transport(&e, policy.timeout, CallError::Unreachable))?;
    if !response.status().is_success() {
        return Err(refusal(response).await);
    }
    Ok(response)
}

/// A whole answer of at most [`MAX_ANSWER_BYTES`], as JSON (or a string when it is not JSON).
async fn read_json(response: Response, policy: EndpointPolicy) -> Result<Value, CallError> {
    let announced = response.content_length().and_then(|n| usize::try_from(n).ok());
    if announced.is_some_and(|n| n > MAX_ANSWER_BYTES) {
        return Err(CallError::TooLarge);
    }
    let read = read_capped(response, MAX_ANSWER_BYTES).await;
    let (body, more) = read.map_err(|e| transport(&e, policy.timeout, CallError::Unreadable))?;
    if more {
        return Err(CallError::TooLarge);
    }
    let text = || Value::String(String::from_utf8_lossy(&body).into_owned());
    Ok(serde_json::from_slice(&body).unwrap_or_else(|_| text()))
}

#[cfg(test)]
mod tests;
