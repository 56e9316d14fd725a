//! Calling a registered tool's endpoint: `POST` of the validated arguments as JSON, with a timeout,
//! no redirects, and (unless allowed for local development) never to a private, loopback or
//! link-local address — checked on the address actually connected to, so DNS cannot swap it.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use reqwest::{redirect, Url};
use serde_json::Value;

/// Largest answer read from an endpoint.
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// How endpoints may be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointPolicy {
    pub timeout: Duration,
    /// `http://` and private addresses: for a local stack only.
    pub allow_private: bool,
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

/// Whether an address is one a tool endpoint must not reach.
#[must_use]
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xC0) == 64
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// Resolves the URL's host to one allowed address.
async fn address(url: &Url, policy: EndpointPolicy) -> Result<SocketAddr, String> {
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
    let port = url.port_or_known_default().unwrap_or(443);
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    found
        .into_iter()
        .find(|a| policy.allow_private || !is_private(a.ip()))
        .ok_or_else(|| format!("{host} resolves only to private addresses, which tool endpoints may not reach"))
}

/// Calls the endpoint with `args`; its JSON answer (or text, as a JSON string).
///
/// # Errors
/// A message for the model: unreachable, timed out, redirected, or a non-2xx answer.
pub async fn call(raw: &str, args: &Value, policy: EndpointPolicy) -> Result<Value, String> {
    let url = check_url(raw, policy.allow_private)?;
    let addr = address(&url, policy).await?;
    let client = reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .timeout(policy.timeout)
        .resolve(url.host_str().unwrap_or_default(), addr)
        .build()
        .map_err(|e| e.to_string())?;
    let response = client.post(url).json(args).send().await.map_err(|e| {
        if e.is_timeout() {
            format!("the endpoint did not answer within {:?}", policy.timeout)
        } else {
            format!("the endpoint could not be reached: {e}")
        }
    })?;
    let status = response.status();
    if status.is_redirection() {
        return Err(format!("the endpoint answered {status}; redirects are not followed"));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("the endpoint's answer could not be read: {e}"))?;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_ANSWER_BYTES)]).into_owned();
    if !status.is_success() {
        return Err(format!(
            "the endpoint answered {status}: {}",
            text.chars().take(500).collect::<String>()
        ));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[cfg(test)]
#[path = "endpoint_tests.rs"]
mod tests;
