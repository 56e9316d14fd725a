//! Lambda authorizers of the HTTP API, run as API Gateway runs them: identity sources must all be
//! present (else 401), the function is invoked with a payload 2.0 `REQUEST` event, a simple response
//! `{"isAuthorized": false}` is a 403, an error is a 500, and an allow passes its context on.
//! Results are not cached here (the template turns caching off).

use std::collections::BTreeMap;

use http::HeaderMap;
use serde_json::{json, Value};
use serde_yaml::Value as Yaml;

use crate::intrinsic::{reference, Reference};
use crate::template::{FunctionDef, Template, TemplateError};

/// One authorizer of `HttpApi.Auth.Authorizers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerDef {
    pub function: String,
    /// `Identity.Headers`, lowercased.
    pub identity_headers: Vec<String>,
}

/// `HttpApi.Auth`: the default authorizer's name and every authorizer by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpAuth {
    pub default: Option<String>,
    pub authorizers: BTreeMap<String, AuthorizerDef>,
}

/// What the authorizer decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Allow(Value),
    Unauthorized,
    Forbidden,
    Failed(String),
}

/// Reads `Auth` of the template's `AWS::Serverless::HttpApi`.
///
/// # Errors
/// [`TemplateError::Invalid`] for an authorizer whose `FunctionArn` is not `!GetAtt <Function>.Arn`
/// of a function of the template, or that is not payload 2.0 with simple responses.
pub fn http_auth(template: &Template, functions: &[FunctionDef]) -> Result<HttpAuth, TemplateError> {
    let Some(api) = template.of_type("AWS::Serverless::HttpApi").next() else {
        return Ok(HttpAuth::default());
    };
    let auth = api.properties.get("Auth").unwrap_or(&Yaml::Null);
    let mut out = HttpAuth {
        default: auth.get("DefaultAuthorizer").and_then(Yaml::as_str).map(str::to_owned),
        authorizers: BTreeMap::new(),
    };
    for (name, def) in auth.get("Authorizers").and_then(Yaml::as_mapping).into_iter().flatten() {
        let name = name.as_str().unwrap_or_default().to_owned();
        let def = authorizer_def(&name, def, functions)?;
        out.authorizers.insert(name, def);
    }
    Ok(out)
}

fn authorizer_def(name: &str, def: &Yaml, functions: &[FunctionDef]) -> Result<AuthorizerDef, TemplateError> {
    let invalid = |why: &str| TemplateError::Invalid(format!("authorizer {name}: {why}"));
    let Some(Reference::GetAtt(logical, _)) = def.get("FunctionArn").and_then(reference) else {
        return Err(invalid("FunctionArn must be !GetAtt <Function>.Arn"));
    };
    let function = functions
        .iter()
        .find(|f| f.logical_id == logical)
        .ok_or_else(|| invalid("unknown function"))?;
    let simple = def.get("EnableSimpleResponses").and_then(Yaml::as_bool) == Some(true);
    if !simple || def.get("AuthorizerPayloadFormatVersion").and_then(Yaml::as_str) != Some("2.0") {
        return Err(invalid("only payload 2.0 with simple responses is supported locally"));
    }
    let headers = def
        .get("Identity")
        .and_then(|i| i.get("Headers"))
        .and_then(Yaml::as_sequence);
    let identity_headers = headers
        .into_iter()
        .flatten()
        .filter_map(Yaml::as_str)
        .map(str::to_ascii_lowercase)
        .collect();
    Ok(AuthorizerDef {
        function: function.binary.clone(),
        identity_headers,
    })
}

/// The authorizer's event: the request event without its body, plus `type`, `routeArn` and
/// `identitySource`; `None` when an identity source is missing (API Gateway answers 401 unasked).
#[must_use]
pub fn authorizer_event(def: &AuthorizerDef, request_event: &Value, headers: &HeaderMap) -> Option<Value> {
    let identity: Option<Vec<String>> = def
        .identity_headers
        .iter()
        .map(|h| headers.get(h).and_then(|v| v.to_str().ok()).map(str::to_owned))
        .collect();
    let mut event = request_event.clone();
    let obj = event.as_object_mut()?;
    obj.remove("body");
    obj.remove("isBase64Encoded");
    let route = request_event["routeKey"]
        .as_str()
        .unwrap_or_default()
        .replacen(' ', "", 1);
    obj.insert("type".into(), json!("REQUEST"));
    obj.insert(
        "routeArn".into(),
        json!(format!(
            "arn:aws:execute-api:us-east-1:123456789012:local/$default/{route}"
        )),
    );
    obj.insert("identitySource".into(), json!(identity?));
    Some(event)
}

/// Reads a simple response.
#[must_use]
pub fn decide(answer: &[u8]) -> Decision {
    let Ok(value) = serde_json::from_slice::<Value>(answer) else {
        return Decision::Failed("the authorizer's answer is not JSON".into());
    };
    match value.get("isAuthorized").and_then(Value::as_bool) {
        Some(true) => Decision::Allow(value.get("context").cloned().unwrap_or_else(|| json!({}))),
        Some(false) => Decision::Forbidden,
        None => Decision::Failed("the authorizer's answer has no boolean isAuthorized".into()),
    }
}

#[cfg(test)]
mod tests;
