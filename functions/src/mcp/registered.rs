//! A tenant's registered tools, prompts and resources in MCP's lists (after the built-in ones, that
//! tenant only), their calls and reads, and cursor paging of every list.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rmcp::model::{CallToolResult, ContentBlock, ErrorData, Tool};
use serde_json::{json, Map, Value};
use shared::auth::Principal;
use shared::registered::service::{self, Answer};
use shared::registered::store::RegistryStore;
use shared::registered::{uri_template, validate, Kind, RegistryError};
use tokio::sync::mpsc::unbounded_channel;

use super::notes::Relay;
use super::McpState;

/// Items per page of `tools/list`, `prompts/list` and `resources/list`.
pub const PAGE_SIZE: usize = 50;

/// One page of `items` from `cursor` (an offset this server issued); the next cursor if more remain.
///
/// # Errors
/// Invalid params for a cursor this server did not issue.
pub fn page<T>(items: Vec<T>, cursor: Option<&str>) -> Result<(Vec<T>, Option<String>), ErrorData> {
    let start = match cursor {
        None => 0,
        Some(c) => URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|b| {
                String::from_utf8(b)
                    .ok()?
                    .strip_prefix("offset:")?
                    .parse::<usize>()
                    .ok()
            })
            .ok_or_else(|| ErrorData::invalid_params("cursor was not issued by this server", None))?,
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(PAGE_SIZE).collect();
    let next = (start + PAGE_SIZE < total).then(|| URL_SAFE_NO_PAD.encode(format!("offset:{}", start + PAGE_SIZE)));
    Ok((page, next))
}

fn internal(e: &RegistryError) -> ErrorData {
    if format!("{e:#}").contains(shared::error::UNAVAILABLE_PREFIX) {
        return super::internal(e);
    }
    tracing::error!(error = %e, "registry read failed");
    ErrorData::internal_error("mcpflow could not read the registered items", None)
}

async fn list(state: &McpState, who: &Principal, kind: Kind) -> Result<Vec<Value>, ErrorData> {
    state.registry.list(&who.tenant, kind).await.map_err(|e| internal(&e))
}

/// The tenant's registered tools as MCP tools.
pub async fn tools(state: &McpState, who: &Principal) -> Result<Vec<Tool>, ErrorData> {
    Ok(list(state, who, Kind::Tool)
        .await?
        .into_iter()
        .map(|t| {
            let schema = t["input_schema"].as_object().cloned().unwrap_or_default();
            let name = t["name"].as_str().unwrap_or_default().to_owned();
            Tool::new(name, t["description"].as_str().unwrap_or_default().to_owned(), schema)
        })
        .collect())
}

/// Calls a registered tool, its endpoint's notifications sent on through `relay` as they come;
/// `None` when the tenant has no tool of that name.
pub async fn call_tool(
    state: &McpState,
    who: &Principal,
    name: &str,
    args: &Value,
    relay: Option<&Relay>,
) -> Result<Option<CallToolResult>, ErrorData> {
    let (tx, mut rx) = unbounded_channel();
    let notes = relay.is_some().then_some(tx);
    let call = service::execute(&state.registry, who, name, args, state.tool_policy, notes);
    let forward = async {
        while let Some(note) = rx.recv().await {
            if let Some(relay) = relay {
                relay.forward(note).await;
            }
        }
    };
    let (out, ()) = tokio::join!(call, forward);
    tool_result(name, out)
}

/// A tool call's outcome as MCP answers it: its result, or an `isError` result the model can read
/// for bad arguments and a failed endpoint; `None` for an unknown tool.
///
/// # Errors
/// Internal error for a store failure.
pub fn tool_result(name: &str, out: Result<Answer, RegistryError>) -> Result<Option<CallToolResult>, ErrorData> {
    let failed = |message: String| Ok(Some(CallToolResult::error(vec![ContentBlock::text(message)])));
    match out {
        Ok(Answer { value, mcp: true }) => match serde_json::from_value::<CallToolResult>(value.clone()) {
            Ok(result) if value["content"].is_array() => Ok(Some(result)),
            Ok(_) => failed(format!("{name}: the endpoint's answer has no content array")),
            Err(e) => failed(format!("{name}: the endpoint's answer is not an MCP tool result: {e}")),
        },
        Ok(Answer { value, .. }) => json_result(value),
        Err(RegistryError::NotFound { .. }) => Ok(None),
        Err(RegistryError::Invalid { field, message }) => failed(format!("{name}: {field}: {message}")),
        Err(RegistryError::EndpointFailed(message)) => failed(format!("{name}: {message}")),
        Err(e) => Err(internal(&e)),
    }
}

/// A `json` tool's value as its result: text for a string, structured content for an object.
#[allow(clippy::unnecessary_wraps)]
fn json_result(value: Value) -> Result<Option<CallToolResult>, ErrorData> {
    Ok(Some(match value {
        Value::String(text) => CallToolResult::success(vec![ContentBlock::text(text)]),
        value @ Value::Object(_) => CallToolResult::structured(value),
        other => CallToolResult::success(vec![ContentBlock::text(other.to_string())]),
    }))
}

/// The tenant's registered prompts as `prompts/list` entries.
pub async fn prompts(state: &McpState, who: &Principal) -> Result<Vec<Value>, ErrorData> {
    Ok(list(state, who, Kind::Prompt)
        .await?
        .into_iter()
        .map(|p| {
            let arguments: Vec<Value> = p["arguments"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| json!({"name": a["name"], "description": a["description"], "required": a["required"]}))
                .collect();
            json!({"name": p["name"], "description": p["description"], "arguments": arguments})
        })
        .collect())
}

/// Renders a registered prompt; `None` when there is none of that name.
pub async fn get_prompt(
    state: &McpState,
    who: &Principal,
    name: &str,
    args: &Map<String, Value>,
) -> Result<Option<Value>, ErrorData> {
    match service::generate(&state.registry, who, name, args).await {
        Ok((prompt, messages)) => Ok(Some(
            json!({"description": prompt["description"], "messages": messages}),
        )),
        Err(RegistryError::NotFound { .. }) => Ok(None),
        Err(RegistryError::Invalid { field, message }) => {
            Err(ErrorData::invalid_params(format!("{field}: {message}"), None))
        }
        Err(e) => Err(internal(&e)),
    }
}

/// The tenant's registered resources as `resources/list` entries (templates are listed apart).
pub async fn resources(state: &McpState, who: &Principal) -> Result<Vec<Value>, ErrorData> {
    Ok(list(state, who, Kind::Resource)
        .await?
        .into_iter()
        .filter(|r| r.get("uri_template").is_none())
        .map(|r| json!({"uri": r["uri"], "name": r["name"], "description": r["description"], "mimeType": r["mime_type"]}))
        .collect())
}

/// The tenant's registered resource templates as `resources/templates/list` entries.
pub async fn templates(state: &McpState, who: &Principal) -> Result<Vec<Value>, ErrorData> {
    Ok(list(state, who, Kind::Resource)
        .await?
        .into_iter()
        .filter(|r| r.get("uri_template").is_some())
        .map(|r| json!({"uriTemplate": r["uri_template"], "name": r["name"], "description": r["description"], "mimeType": r["mime_type"]}))
        .collect())
}

/// Reads a registered resource: the one with that URI, else the first template (by its
/// `uri_template`, in order) that `uri` expands; `None` when neither.
pub async fn read_resource(state: &McpState, who: &Principal, uri: &str) -> Result<Option<Value>, ErrorData> {
    let own = state
        .registry
        .get(&who.tenant, Kind::Resource, uri)
        .await
        .map_err(|e| internal(&e))?
        .filter(|r| r.get("uri_template").is_none());
    let (doc, values) = match own {
        Some(r) => (r, Vec::new()),
        None => {
            let templates = list(state, who, Kind::Resource).await?.into_iter();
            let matched = templates
                .filter_map(|r| Some((uri_template::matches(r["uri_template"].as_str()?, uri)?, r)))
                .next();
            match matched {
                Some((values, r)) => (r, values),
                None => return Ok(None),
            }
        }
    };
    let contents = validate::resource_contents(&doc, uri, &values).ok_or_else(|| {
        let limit = validate::MAX_RENDERED_BYTES;
        ErrorData::invalid_params(format!("{uri} would fill its template past {limit} bytes"), None)
    })?;
    Ok(Some(json!({"contents": [contents]})))
}

/// The suggested values of a registered prompt's argument, for `completion/complete`.
pub async fn argument_values(
    state: &McpState,
    who: &Principal,
    prompt: &str,
    argument: &str,
) -> Result<Vec<String>, ErrorData> {
    let doc = state
        .registry
        .get(&who.tenant, Kind::Prompt, prompt)
        .await
        .map_err(|e| internal(&e))?
        .unwrap_or_default();
    let declared = doc["arguments"].as_array().into_iter().flatten();
    Ok(declared
        .filter(|a| a["name"] == argument)
        .flat_map(|a| a["values"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_their_cursor_to_the_end_and_foreign_cursors_are_refused() {
        let items: Vec<usize> = (0..120).collect();
        let (first, next) = page(items.clone(), None).unwrap();
        assert_eq!((first.len(), first[0]), (50, 0));
        let (second, next) = page(items.clone(), next.as_deref()).unwrap();
        assert_eq!(second[0], 50);
        let (third, next) = page(items.clone(), next.as_deref()).unwrap();
        assert_eq!((third.len(), next), (20, None));
        assert!(page(items, Some("bm9wZQ")).is_err());
    }

    #[test]
    fn a_failed_endpoint_and_bad_arguments_are_error_results_the_model_can_read() {
        let failed = tool_result(
            "weather",
            Err(RegistryError::EndpointFailed("the endpoint answered 503".into())),
        );
        let failed = failed.unwrap().unwrap();
        assert_eq!(failed.is_error, Some(true));
        assert_eq!(
            serde_json::to_value(&failed.content).unwrap()[0]["text"],
            "weather: the endpoint answered 503"
        );
        let invalid = RegistryError::Invalid {
            field: "arguments".into(),
            message: "\"city\" is a required property".into(),
        };
        assert_eq!(
            tool_result("weather", Err(invalid)).unwrap().unwrap().is_error,
            Some(true)
        );
        let unknown = RegistryError::NotFound {
            kind: Kind::Tool,
            key: "weather".into(),
        };
        assert!(tool_result("weather", Err(unknown)).unwrap().is_none());
        let broken = RegistryError::Unknown(anyhow::anyhow!("table gone"));
        assert!(tool_result("weather", Err(broken)).is_err());
    }
}
