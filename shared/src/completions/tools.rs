//! Tools in completions: a completion names registered tools; the worker offers them to the model,
//! runs each call the model makes through the registry (the tool's schema checked, its endpoint
//! called, as `POST /api/v1/tools/{name}/execute` does), hands the answers back, and asks again, for
//! at most [`MAX_TOOL_ROUNDS`] rounds. Each round is kept on the completion.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::providers::{ToolCall, ToolOutput, ToolSpec};
use crate::registered::endpoint::EndpointPolicy;
use crate::registered::service::{execute_for, Answer};
use crate::registered::store::RegistryStore;
use crate::registered::{Kind, RegistryError};

/// Tools one completion may offer.
pub const MAX_TOOLS: usize = 8;
/// Rounds of tool calls one completion may make; a model that asks for more fails the completion
/// with `TOOL_ROUNDS_EXCEEDED`.
pub const MAX_TOOL_ROUNDS: usize = 5;
/// Calls of one round that are run; the model is told the rest were not.
pub const MAX_CALLS_PER_ROUND: usize = 8;
/// The most of a tool's answer the model is given (the rest is cut, and the model told so).
pub const RESULT_BYTES: usize = 16 * 1024;
/// The most of a tool's answer (and of its arguments) kept in the completion's `tool_rounds`.
pub const RECORDED_BYTES: usize = 1024;

/// Why a completion's tools could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ToolsError {
    #[error("no registered tool {0}")]
    NotRegistered(String),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Port: a tenant's registered tools, as a completion names and offers them.
pub trait ToolSpecs: Send + Sync {
    /// The tools named `names`, in order.
    fn specs<'a>(&'a self, tenant: &'a str, names: &'a [String]) -> Boxed<'a, Result<Vec<ToolSpec>, ToolsError>>;
}

/// Port: a tenant's registered tools, as the function that runs a completion calls them.
pub trait ToolBox: ToolSpecs {
    /// Runs one call; every failure is an error answer for the model, never an error of the call.
    fn run<'a>(&'a self, tenant: &'a str, call: &'a ToolCall) -> Boxed<'a, ToolOutput>;
}

/// The registry's tools, read only: what the functions that take a completion's request check its
/// tools against. They never run one, so they link no JSON Schema validator (about 2 MB of a binary).
pub struct RegistryToolSpecs<S> {
    pub store: S,
}

/// The registry's tools: read from `store`, their endpoints called as `policy` allows.
pub struct RegistryTools<S> {
    pub store: S,
    pub policy: EndpointPolicy,
}

/// The tools named `names` in `store`, in order.
async fn read_specs<S: RegistryStore>(store: &S, tenant: &str, names: &[String]) -> Result<Vec<ToolSpec>, ToolsError> {
    let reads = names.iter().map(|name| store.get(tenant, Kind::Tool, name));
    let docs = futures::future::join_all(reads).await;
    names
        .iter()
        .zip(docs)
        .map(|(name, doc)| match doc {
            Ok(Some(doc)) => Ok(ToolSpec {
                name: name.clone(),
                description: doc["description"].as_str().unwrap_or_default().to_owned(),
                input_schema: object_schema(&doc["input_schema"]),
            }),
            Ok(None) => Err(ToolsError::NotRegistered(name.clone())),
            Err(RegistryError::Unknown(e)) => Err(ToolsError::Store(e)),
            Err(other) => Err(ToolsError::Store(anyhow::anyhow!(other.to_string()))),
        })
        .collect()
}

impl<S: RegistryStore + 'static> ToolSpecs for RegistryToolSpecs<S> {
    fn specs<'a>(&'a self, tenant: &'a str, names: &'a [String]) -> Boxed<'a, Result<Vec<ToolSpec>, ToolsError>> {
        Box::pin(read_specs(&self.store, tenant, names))
    }
}

impl<S: RegistryStore + 'static> ToolSpecs for RegistryTools<S> {
    fn specs<'a>(&'a self, tenant: &'a str, names: &'a [String]) -> Boxed<'a, Result<Vec<ToolSpec>, ToolsError>> {
        Box::pin(read_specs(&self.store, tenant, names))
    }
}

impl<S: RegistryStore + 'static> ToolBox for RegistryTools<S> {
    fn run<'a>(&'a self, tenant: &'a str, call: &'a ToolCall) -> Boxed<'a, ToolOutput> {
        Box::pin(async move {
            let ran = execute_for(&self.store, tenant, &call.name, &call.arguments, self.policy, None).await;
            let (content, is_error) = match ran {
                Ok(answer) => answer_text(&answer),
                Err(RegistryError::Unknown(e)) => {
                    tracing::error!(error = %format!("{e:#}"), tool = %call.name, "a completion's tool could not be read");
                    ("mcpflow could not read the tool; it was not run".to_owned(), true)
                }
                Err(e) => (e.to_string(), true),
            };
            // Providers refuse a blank text block.
            let content = if content.trim().is_empty() {
                "(no output)".to_owned()
            } else {
                content
            };
            ToolOutput {
                call_id: call.id.clone(),
                content: cut(&content, RESULT_BYTES),
                is_error,
            }
        })
    }
}

/// A tool's schema as providers take it: every provider wants `"type": "object"` at the top, which
/// the registry does not ask of a schema (one without `type` accepts objects too).
fn object_schema(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Some(fields) = schema.as_object_mut() {
        fields.entry("type").or_insert_with(|| Value::from("object"));
    }
    schema
}

/// A tool's answer as text for the model: an MCP result's text blocks (other blocks named by their
/// type), or the endpoint's JSON; whether it is an error.
fn answer_text(answer: &Answer) -> (String, bool) {
    if !answer.mcp {
        return (answer.value.to_string(), false);
    }
    let blocks = answer.value["content"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let text: Vec<String> = blocks
        .iter()
        .map(|b| match b["text"].as_str() {
            Some(text) => text.to_owned(),
            None => format!("[{} content]", b["type"].as_str().unwrap_or("unknown")),
        })
        .collect();
    (text.join("\n"), answer.value["isError"] == true)
}

/// `text` cut to at most `max` bytes (on a character boundary), saying it was.
#[must_use]
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… (cut: {} bytes in all)", &text[..end], text.len())
}

/// Arguments as recorded: the value, or its JSON cut to [`RECORDED_BYTES`] when longer.
#[must_use]
pub fn recorded_arguments(arguments: &Value) -> Value {
    let json = arguments.to_string();
    if json.len() <= RECORDED_BYTES {
        arguments.clone()
    } else {
        Value::String(cut(&json, RECORDED_BYTES))
    }
}
