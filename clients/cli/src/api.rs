//! The REST API as the CLI calls it: a credential (an API key, or a JWT sent as a bearer token) and
//! the error envelope turned into a message a person can act on.

use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use crate::config::Target;

/// A client of one mcpflow.
#[derive(Debug, Clone)]
pub struct Api {
    pub target: Target,
    http: reqwest::Client,
}

/// Whether `credential` is a JWT (three base64url parts) rather than an API key.
#[must_use]
pub fn is_jwt(credential: &str) -> bool {
    credential.split('.').count() == 3 && !credential.starts_with("mcpf_")
}

/// The envelope's message and request id, or the body as it came.
#[must_use]
pub fn refusal(status: u16, body: &Value) -> String {
    match (body["error"]["code"].as_str(), body["error"]["message"].as_str()) {
        (Some(code), Some(message)) => {
            let id = body["request_id"].as_str().unwrap_or("none");
            format!("{status} {code}: {message} (request id {id})")
        }
        _ => format!("{status}: {body}"),
    }
}

/// Whether `error` is a refusal another try would meet again: a 4xx other than 408 and 429.
#[must_use]
pub fn is_final_refusal(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<Refused>()
        .is_some_and(|r| (400..500).contains(&r.status) && r.status != 408 && r.status != 429)
}

/// mcpflow's answer to a call it refused.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refused {}

impl Api {
    /// # Errors
    /// When no HTTP client can be built.
    pub fn new(target: Target) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(35)).build()?;
        Ok(Self { target, http })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = format!("{}{path}", self.target.url.trim_end_matches('/'));
        let request = self.http.request(method, url);
        if is_jwt(&self.target.key) {
            request.bearer_auth(&self.target.key)
        } else {
            request.header("x-api-key", &self.target.key)
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
        let sent = request
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.target.url))?;
        let status = sent.status().as_u16();
        let text = sent.text().await?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if !(200..300).contains(&status) {
            let message = format!("{what} refused: {}", refusal(status, &body));
            return Err(Refused { status, message }.into());
        }
        Ok(body)
    }

    /// `GET path`.
    ///
    /// # Errors
    /// When mcpflow cannot be reached or refuses it (the message says why, with the request id).
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.request(reqwest::Method::GET, path), &format!("GET {path}"))
            .await
    }

    /// `GET path?query` (each pair encoded).
    ///
    /// # Errors
    /// As [`Self::get`].
    pub async fn get_query(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
        let request = self.request(reqwest::Method::GET, path).query(query);
        self.send(request, &format!("GET {path}")).await
    }

    /// `DELETE path`.
    ///
    /// # Errors
    /// As [`Self::get`].
    pub async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.request(reqwest::Method::DELETE, path), &format!("DELETE {path}"))
            .await
    }

    /// `POST path` with a JSON body.
    ///
    /// # Errors
    /// As [`Self::get`].
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let request = self.request(reqwest::Method::POST, path).json(body);
        self.send(request, &format!("POST {path}")).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_refusal_names_its_code_message_and_request_id() {
        let body = json!({"error": {"code": "PIPELINE_NOT_FOUND", "message": "pipeline p not found"},
            "request_id": "r1"});
        assert_eq!(
            refusal(404, &body),
            "404 PIPELINE_NOT_FOUND: pipeline p not found (request id r1)"
        );
        assert_eq!(refusal(502, &json!("bad gateway")), "502: \"bad gateway\"");
    }

    #[test]
    fn only_a_4xx_but_408_and_429_is_a_refusal_another_try_would_meet_again() {
        let refused = |status| {
            anyhow::Error::from(Refused {
                status,
                message: String::new(),
            })
        };
        let finals: Vec<bool> = [400, 401, 403, 404, 408, 429, 500, 503]
            .map(|s| is_final_refusal(&refused(s)))
            .to_vec();
        assert_eq!(finals, [true, true, true, true, false, false, false, false]);
        assert!(!is_final_refusal(&anyhow::anyhow!("cannot reach mcpflow")));
    }

    #[test]
    fn jwts_go_as_bearer_tokens_and_keys_as_api_keys() {
        assert!(is_jwt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
        assert!(!is_jwt("mcpf_0123456789abcdef_secret.with.dots"));
        assert!(!is_jwt("mcpf_0123456789abcdef_secret"));
    }
}
