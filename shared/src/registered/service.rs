//! The operations on registered items, for the REST API and the MCP endpoint alike.

use serde_json::{Map, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use super::endpoint::{self, EndpointPolicy};
use super::store::RegistryStore;
use super::{invalid, key_of, validate, Kind, RegistryError};
use crate::auth::Principal;

/// A registration body checked as a document of its kind, as it is stored. Made only by the checks
/// below, so [`register`] and [`replace`] store nothing unchecked. One constructor per kind: a route
/// that serves one kind links only that kind's check (a prompt's route carries no JSON Schema
/// compiler).
pub struct Checked {
    kind: Kind,
    doc: Value,
}

impl Checked {
    /// A tool: its `input_schema` compiles, its endpoint is allowed by `policy`.
    ///
    /// # Errors
    /// [`RegistryError::Invalid`] naming the field.
    pub fn tool(body: &Value, policy: EndpointPolicy) -> Result<Self, RegistryError> {
        Ok(Self {
            kind: Kind::Tool,
            doc: validate::tool(body, policy.allow_private)?,
        })
    }

    /// A prompt.
    ///
    /// # Errors
    /// [`RegistryError::Invalid`] naming the field.
    pub fn prompt(body: &Value) -> Result<Self, RegistryError> {
        Ok(Self {
            kind: Kind::Prompt,
            doc: validate::prompt(body)?,
        })
    }

    /// A resource.
    ///
    /// # Errors
    /// [`RegistryError::Invalid`] naming the field.
    pub fn resource(body: &Value) -> Result<Self, RegistryError> {
        Ok(Self {
            kind: Kind::Resource,
            doc: validate::resource(body)?,
        })
    }

    /// A body of a kind known only at run time (links every kind's check).
    ///
    /// # Errors
    /// [`RegistryError::Invalid`] naming the field.
    pub fn of(kind: Kind, body: &Value, policy: EndpointPolicy) -> Result<Self, RegistryError> {
        match kind {
            Kind::Tool => Self::tool(body, policy),
            Kind::Prompt => Self::prompt(body),
            Kind::Resource => Self::resource(body),
        }
    }
}

/// Stores a new item; the stored document.
///
/// # Errors
/// [`RegistryError`]: taken key, limit reached, or a store failure.
pub async fn register<S: RegistryStore>(
    store: &S,
    principal: &Principal,
    item: Checked,
) -> Result<Value, RegistryError> {
    let Checked { kind, doc } = item;
    store.put(&principal.tenant, kind, key_of(kind, &doc), &doc).await?;
    Ok(doc)
}

/// Replaces the tenant's item `key` with a checked registration of its kind; the stored document.
/// The key itself cannot change.
///
/// # Errors
/// [`RegistryError`]: a body naming another key, no such item, or a store failure.
pub async fn replace<S: RegistryStore>(
    store: &S,
    principal: &Principal,
    key: &str,
    item: Checked,
) -> Result<Value, RegistryError> {
    let Checked { kind, doc } = item;
    if key_of(kind, &doc) != key {
        let field = kind.key_field();
        return Err(invalid(
            field,
            format!("must be {key:?}, the {field} in the path: it cannot change"),
        ));
    }
    if store.replace(&principal.tenant, kind, key, &doc).await? {
        Ok(doc)
    } else {
        Err(RegistryError::NotFound {
            kind,
            key: key.to_owned(),
        })
    }
}

/// One of the tenant's items.
///
/// # Errors
/// [`RegistryError::NotFound`], or a store failure.
pub async fn get<S: RegistryStore>(
    store: &S,
    principal: &Principal,
    kind: Kind,
    key: &str,
) -> Result<Value, RegistryError> {
    store
        .get(&principal.tenant, kind, key)
        .await?
        .ok_or_else(|| RegistryError::NotFound {
            kind,
            key: key.to_owned(),
        })
}

/// Removes one of the tenant's items.
///
/// # Errors
/// [`RegistryError::NotFound`], or a store failure.
pub async fn delete<S: RegistryStore>(
    store: &S,
    principal: &Principal,
    kind: Kind,
    key: &str,
) -> Result<(), RegistryError> {
    if store.delete(&principal.tenant, kind, key).await? {
        Ok(())
    } else {
        Err(RegistryError::NotFound {
            kind,
            key: key.to_owned(),
        })
    }
}

/// What is wrong with `args` for a compiled schema, one line per violation, naming where.
#[must_use]
pub fn violations_of(validator: &jsonschema::Validator, args: &Value) -> Option<String> {
    let errors: Vec<String> = validator
        .iter_errors(args)
        .map(|e| match e.instance_path().to_string() {
            at if at.is_empty() => e.to_string(),
            at => format!("{at}: {e}"),
        })
        .collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}

/// What is wrong with `args` for a tool's schema (compiled for this call: it comes from the store).
///
/// # Errors
/// [`RegistryError::Invalid`] naming `input_schema` when the stored schema does not compile (one
/// stored before registration compiled schemas): the call is refused, never made unchecked.
pub fn violations(schema: &Value, args: &Value) -> Result<Option<String>, RegistryError> {
    Ok(violations_of(&validate::compile(schema)?, args))
}

/// What a tool's endpoint answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub value: Value,
    /// The tool's `answer_format` is `mcp`: the value is meant to be an MCP tool result.
    pub mcp: bool,
}

/// Runs a registered tool: arguments checked against its schema, then its endpoint called. A tool
/// whose `answer_format` is `mcp` may stream notifications before its answer: each goes to `notes`
/// as it arrives (and is dropped without one).
///
/// # Errors
/// [`RegistryError::NotFound`]; [`RegistryError::Invalid`] for arguments that break the schema
/// (field `arguments`) or a stored schema that does not compile (`input_schema`);
/// [`RegistryError::EndpointFailed`] when the endpoint failed (refused, unreachable, timed out,
/// redirected, non-2xx, or too large an answer).
pub async fn execute<S: RegistryStore>(
    store: &S,
    principal: &Principal,
    name: &str,
    args: &Value,
    policy: EndpointPolicy,
    notes: Option<UnboundedSender<Value>>,
) -> Result<Answer, RegistryError> {
    execute_for(store, &principal.tenant, name, args, policy, notes).await
}

/// [`execute`] for the tenant `tenant` (a completion's tool call, run by the worker).
///
/// # Errors
/// As [`execute`].
pub async fn execute_for<S: RegistryStore>(
    store: &S,
    tenant: &str,
    name: &str,
    args: &Value,
    policy: EndpointPolicy,
    notes: Option<UnboundedSender<Value>>,
) -> Result<Answer, RegistryError> {
    let tool = store
        .get(tenant, Kind::Tool, name)
        .await?
        .ok_or_else(|| RegistryError::NotFound {
            kind: Kind::Tool,
            key: name.to_owned(),
        })?;
    if let Some(problems) = violations(&tool["input_schema"], args)? {
        return Err(invalid("arguments", problems));
    }
    let url = tool["endpoint"].as_str().unwrap_or_default();
    let mcp = tool["answer_format"] == "mcp";
    let called = match notes {
        Some(notes) if mcp => endpoint::call_streaming(url, args, policy, &notes).await,
        _ if mcp => endpoint::call_streaming(url, args, policy, &unbounded_channel().0).await,
        _ => endpoint::call(url, args, policy).await,
    };
    let value = called.map_err(|e| {
        tracing::info!(tool = %name, error = %e, "tool endpoint failed");
        RegistryError::EndpointFailed(e.to_string())
    })?;
    Ok(Answer { value, mcp })
}

/// Renders a registered prompt with checked arguments: the prompt and its MCP messages.
///
/// # Errors
/// [`RegistryError::NotFound`], or [`RegistryError::Invalid`] naming the argument.
pub async fn generate<S: RegistryStore>(
    store: &S,
    principal: &Principal,
    name: &str,
    args: &Map<String, Value>,
) -> Result<(Value, Vec<Value>), RegistryError> {
    let prompt = get(store, principal, Kind::Prompt, name).await?;
    let messages = validate::render(&prompt, args)?;
    Ok((prompt, messages))
}
