//! The WebSocket API of the template: its route selection expression and, per route key, the function
//! its integration invokes and whether the route answers the client (a route response). Events are
//! built as API Gateway builds them for a Lambda proxy integration.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use serde_yaml::Value as Yaml;

use crate::intrinsic::{resolve_string, Resolve};
use crate::template::{Template, TemplateError};

/// One route: the function (its binary) and whether its answer goes back to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsRoute {
    pub function: String,
    pub responds: bool,
}

/// A WebSocket API: the body field its routes are selected by, and its routes by key (`$connect`,
/// `$disconnect`, `$default`, and any named ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsRoutes {
    pub api_id: String,
    pub selection_field: Option<String>,
    pub routes: BTreeMap<String, WsRoute>,
}

/// Resolves every `Ref` and `GetAtt` to a marker naming it, so references can be read off strings.
struct Markers;

impl Resolve for Markers {
    fn reference(&self, name: &str) -> Option<String> {
        Some(format!("{{ref:{name}}}"))
    }
    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String> {
        Some(format!("{{att:{logical_id}.{attribute}}}"))
    }
}

fn marked(value: &Yaml, prefix: &str) -> Option<String> {
    let text = resolve_string(value, &Markers).ok()?;
    let start = text.find(prefix)? + prefix.len();
    let end = text[start..].find(['}', '.'])? + start;
    Some(text[start..end].to_owned())
}

impl WsRoutes {
    /// The template's WebSocket API, if it has one.
    ///
    /// # Errors
    /// A route whose target or integration does not name a function of the template.
    pub fn from_template(template: &Template) -> Result<Option<Self>, TemplateError> {
        let Some(api) = template
            .of_type("AWS::ApiGatewayV2::Api")
            .find(|a| a.properties.get("ProtocolType").and_then(Yaml::as_str) == Some("WEBSOCKET"))
        else {
            return Ok(None);
        };
        let selection = api.properties.get("RouteSelectionExpression").and_then(Yaml::as_str);
        let selection_field = selection
            .and_then(|s| s.strip_prefix("$request.body."))
            .map(str::to_owned);
        let binaries: BTreeMap<String, String> = template
            .functions()?
            .into_iter()
            .map(|f| (f.logical_id, f.binary))
            .collect();
        let mut routes = BTreeMap::new();
        for route in template.of_type("AWS::ApiGatewayV2::Route") {
            let props = &route.properties;
            if props.get("ApiId").and_then(|v| marked(v, "{ref:")).as_deref() != Some(api.logical_id.as_str()) {
                continue;
            }
            let invalid = |what: &str| TemplateError::Invalid(format!("{}: {what}", route.logical_id));
            let key = props
                .get("RouteKey")
                .and_then(Yaml::as_str)
                .ok_or_else(|| invalid("no RouteKey"))?;
            let integration = props
                .get("Target")
                .and_then(|t| marked(t, "{ref:"))
                .ok_or_else(|| invalid("Target names no integration"))?;
            let uri = template
                .resources
                .iter()
                .find(|r| r.logical_id == integration)
                .and_then(|r| r.properties.get("IntegrationUri"))
                .ok_or_else(|| invalid("its integration has no IntegrationUri"))?;
            let function = marked(uri, "{att:").ok_or_else(|| invalid("its integration names no function"))?;
            let binary = binaries
                .get(&function)
                .ok_or_else(|| invalid(&format!("{function} is not a function of the template")))?;
            let responds = props.get("RouteResponseSelectionExpression").is_some();
            routes.insert(
                key.to_owned(),
                WsRoute {
                    function: binary.clone(),
                    responds,
                },
            );
        }
        Ok(Some(Self {
            api_id: api.logical_id.to_lowercase(),
            selection_field,
            routes,
        }))
    }

    /// The route of a message: the one its selection field names, else `$default`.
    #[must_use]
    pub fn select(&self, body: &str) -> Option<(&str, &WsRoute)> {
        let named = self.selection_field.as_ref().and_then(|field| {
            let value: Value = serde_json::from_str(body).ok()?;
            let key = value.get(field)?.as_str()?.to_owned();
            self.routes.get_key_value(&key)
        });
        named
            .or_else(|| self.routes.get_key_value("$default"))
            .map(|(k, r)| (k.as_str(), r))
    }
}

/// What a WebSocket event says about its connection and request.
pub struct WsEventContext<'a> {
    pub route_key: &'a str,
    pub event_type: &'a str,
    pub connection_id: &'a str,
    pub connected_at_ms: i64,
    pub api_id: &'a str,
    pub domain: &'a str,
    pub stage: &'a str,
    pub source_ip: &'a str,
}

/// The Lambda proxy event of a WebSocket route: `headers` and `query` only on `$connect`, `body` only
/// on messages.
#[must_use]
pub fn ws_event(
    ctx: &WsEventContext<'_>,
    headers: Option<&BTreeMap<String, String>>,
    query: Option<&BTreeMap<String, String>>,
    body: Option<&str>,
) -> Value {
    let now = chrono::Utc::now();
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let mut event = json!({
        "requestContext": {
            "routeKey": ctx.route_key,
            "eventType": ctx.event_type,
            "extendedRequestId": request_id,
            "requestTime": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "messageDirection": "IN",
            "stage": ctx.stage,
            "connectedAt": ctx.connected_at_ms,
            "requestTimeEpoch": now.timestamp_millis(),
            "identity": {"sourceIp": ctx.source_ip},
            "requestId": request_id,
            "domainName": ctx.domain,
            "connectionId": ctx.connection_id,
            "apiId": ctx.api_id,
        },
        "isBase64Encoded": false,
    });
    if let Some(headers) = headers {
        event["headers"] = json!(headers);
        let multi: BTreeMap<&String, Vec<&String>> = headers.iter().map(|(k, v)| (k, vec![v])).collect();
        event["multiValueHeaders"] = json!(multi);
    }
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        event["queryStringParameters"] = json!(query);
        let multi: BTreeMap<&String, Vec<&String>> = query.iter().map(|(k, v)| (k, vec![v])).collect();
        event["multiValueQueryStringParameters"] = json!(multi);
    }
    if ctx.event_type == "MESSAGE" {
        event["requestContext"]["messageId"] = json!(uuid::Uuid::new_v4().simple().to_string());
        event["body"] = json!(body.unwrap_or_default());
    }
    event
}
