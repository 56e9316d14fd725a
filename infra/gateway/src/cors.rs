//! CORS of the HTTP API as API Gateway does it when the API has a `CorsConfiguration`
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html>):
//!
//! - a preflight (`OPTIONS` with both `Origin` and `Access-Control-Request-Method`) is answered by the
//!   gateway itself, before any authorizer or function: `204`, with the allow headers when the origin
//!   is allowed and with none when it is not. Only a route that takes `OPTIONS` (an `OPTIONS`, `ANY`
//!   or `$default` route) gets it instead, as on AWS;
//! - every other answer (a function's, an authorizer's denial, a 404) to an allowed `Origin` gets
//!   `Access-Control-Allow-Origin` and `Access-Control-Expose-Headers` (and `-Allow-Credentials`);
//! - the CORS headers a function returns are dropped: API Gateway ignores them.
//!
//! An origin is allowed when `AllowOrigins` lists it exactly, lists `*` (the answer then says `*`),
//! or lists `https://*` or `http://*` and it has that scheme. Without a `CorsConfiguration`, `OPTIONS`
//! is routed like any other method, so a preflight usually gets the 404 of an unrouted request.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::response::Response;
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde_yaml::Value;

use crate::intrinsic::{resolve, Parameters};
use crate::template::{Template, TemplateError};

/// `CorsConfiguration` of an `AWS::Serverless::HttpApi`, its lists in the template's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsConfig {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    /// `MaxAge` in seconds; no `Access-Control-Max-Age` without it.
    pub max_age: Option<i64>,
    pub allow_credentials: bool,
}

/// Whether a request is a CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
#[must_use]
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

impl CorsConfig {
    /// The `CorsConfiguration` of the template's HTTP API with its intrinsics resolved against
    /// `parameters` (every parameter's value) and the template's `Conditions`; `None` when it has none
    /// (or an `Fn::If` gives `AWS::NoValue`).
    ///
    /// # Errors
    /// [`TemplateError::Invalid`] when it does not resolve or is not a CORS configuration SAM accepts.
    pub fn from_template(
        template: &Template,
        parameters: &BTreeMap<String, String>,
    ) -> Result<Option<Self>, TemplateError> {
        let Some(api) = template.of_type("AWS::Serverless::HttpApi").next() else {
            return Ok(None);
        };
        let Some(cors) = api.properties.get("CorsConfiguration") else {
            return Ok(None);
        };
        let resolver = Parameters {
            values: parameters,
            conditions: &template.conditions,
        };
        let resolved = resolve(cors, &resolver)
            .map_err(|e| TemplateError::Invalid(format!("{} CorsConfiguration: {e}", api.logical_id)))?;
        Self::parse(&resolved)
            .map_err(|why| TemplateError::Invalid(format!("{} CorsConfiguration: {why}", api.logical_id)))
    }

    /// A resolved `CorsConfiguration`: `true` (every origin, as SAM reads it), `false`/absent (none),
    /// or a map of SAM's keys.
    ///
    /// # Errors
    /// An unknown key, a value of the wrong type, a value no header can carry, or credentials allowed
    /// to every origin (`*`), which SAM and API Gateway refuse.
    pub fn parse(value: &Value) -> Result<Option<Self>, String> {
        let map = match value {
            Value::Null | Value::Bool(false) => return Ok(None),
            Value::Bool(true) => {
                return Ok(Some(Self {
                    allow_origins: vec!["*".into()],
                    ..Self::default()
                }))
            }
            Value::Mapping(map) => map,
            other => return Err(format!("{other:?} is not true, false or a map")),
        };
        let mut out = Self::default();
        for (key, v) in map {
            let key = key.as_str().unwrap_or_default();
            match key {
                "AllowOrigins" => out.allow_origins = strings(key, v)?,
                "AllowMethods" => out.allow_methods = strings(key, v)?,
                "AllowHeaders" => out.allow_headers = strings(key, v)?,
                "ExposeHeaders" => out.expose_headers = strings(key, v)?,
                "MaxAge" => out.max_age = Some(scalar(v).parse().map_err(|_| format!("MaxAge {v:?}"))?),
                "AllowCredentials" => {
                    out.allow_credentials = scalar(v).parse().map_err(|_| format!("AllowCredentials {v:?}"))?;
                }
                other => return Err(format!("unknown key {other:?}")),
            }
        }
        if out.allow_credentials && out.allow_origins.iter().any(|o| o == "*") {
            return Err("AllowCredentials cannot be true when AllowOrigins has *".into());
        }
        Ok(Some(out))
    }

    /// What `Access-Control-Allow-Origin` says to `origin`: `*` when every origin is allowed, the
    /// origin itself when it is allowed, `None` when it is not.
    #[must_use]
    pub fn allowed_origin<'a>(&self, origin: &'a str) -> Option<&'a str> {
        if self.allow_origins.iter().any(|o| o == "*") {
            return Some("*");
        }
        let matches = |allowed: &String| match allowed.strip_suffix('*') {
            Some(scheme @ ("https://" | "http://")) => origin.starts_with(scheme),
            _ => allowed == origin,
        };
        self.allow_origins.iter().any(matches).then_some(origin)
    }

    /// API Gateway's own answer to a preflight that no route takes.
    #[must_use]
    pub fn preflight(&self, request: &HeaderMap) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let Some(origin) = self.request_origin(request) else {
            return response;
        };
        let headers = response.headers_mut();
        set(headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        set(
            headers,
            header::ACCESS_CONTROL_ALLOW_METHODS,
            &self.allow_methods.join(","),
        );
        set(
            headers,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            &self.allow_headers.join(","),
        );
        if let Some(max_age) = self.max_age {
            set(headers, header::ACCESS_CONTROL_MAX_AGE, &max_age.to_string());
        }
        if self.allow_credentials {
            set(headers, header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
        }
        response
    }

    /// Puts the configured CORS headers on any other answer, in place of the ones it carries.
    pub fn apply(&self, request: &HeaderMap, response: &mut HeaderMap) {
        let theirs: Vec<HeaderName> = response
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in theirs {
            response.remove(name);
        }
        let Some(origin) = self.request_origin(request) else {
            return;
        };
        set(response, header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        set(
            response,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            &self.expose_headers.join(","),
        );
        if self.allow_credentials {
            set(response, header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
        }
    }

    /// The request's `Origin`, answered as [`Self::allowed_origin`] answers it.
    fn request_origin<'a>(&self, request: &'a HeaderMap) -> Option<&'a str> {
        let origin = request.get(header::ORIGIN)?.to_str().ok()?;
        self.allowed_origin(origin)
    }
}

/// Sets a header unless its value is empty (an empty list sends no header).
fn set(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if value.is_empty() {
        return;
    }
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// A list of strings no header refuses.
fn strings(key: &str, value: &Value) -> Result<Vec<String>, String> {
    let items = value.as_sequence().ok_or_else(|| format!("{key} is not a list"))?;
    items
        .iter()
        .map(|item| match item.as_str() {
            Some(s) if HeaderValue::from_str(s).is_ok() => Ok(s.to_owned()),
            _ => Err(format!("{key} holds {item:?}, which is not a header value")),
        })
        .collect()
}

/// A scalar's text: `Ref` gives numbers and booleans as strings.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests;
