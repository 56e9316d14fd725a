//! Tools, prompts and resources a tenant registers: checked on the way in, stored as JSON documents
//! per tenant, listed by MCP after the built-in ones. A registered tool is an HTTPS endpoint called
//! with arguments validated against its JSON Schema; a prompt is a template with declared
//! arguments; a resource is text or JSON with a MIME type.
//!
//! DynamoDB: `TENANT#<tenant>` / `TOOL#<name>`, `PROMPT#<name>`, `RESOURCE#<uri>`, the document in `doc`;
//! `TENANT#<tenant>` / `REGCOUNT#<KIND>` counts them, written in the same transaction as each item.

pub mod dynamodb;

pub mod cache;
pub mod content;
pub mod endpoint;
pub mod memory;
pub mod service;
pub mod store;
pub mod uri_template;
pub mod validate;

use serde::Serialize;
use serde_json::Value;

/// What kind of item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Tool,
    Prompt,
    Resource,
}

impl Kind {
    /// The first component of this kind's sort keys in the table (`TOOL`, `PROMPT`, `RESOURCE`).
    #[must_use]
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Tool => "TOOL",
            Self::Prompt => "PROMPT",
            Self::Resource => "RESOURCE",
        }
    }

    /// The document field that names an item.
    #[must_use]
    pub fn key_field(self) -> &'static str {
        match self {
            Self::Resource => "uri",
            _ => "name",
        }
    }

    /// The error code of a missing item.
    #[must_use]
    pub fn not_found_code(self) -> &'static str {
        match self {
            Self::Tool => "TOOL_NOT_FOUND",
            Self::Prompt => "PROMPT_NOT_FOUND",
            Self::Resource => "RESOURCE_NOT_FOUND",
        }
    }
}

/// Items of one kind a tenant may register.
pub const MAX_PER_KIND: usize = 100;

/// Why a registration or a use of one failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{kind:?} {key} not found")]
    NotFound { kind: Kind, key: String },
    #[error("{kind:?} {key} is already registered; delete it first")]
    Exists { kind: Kind, key: String },
    #[error("the tenant already has {MAX_PER_KIND} registered items of this kind")]
    LimitReached,
    /// A registered tool's endpoint failed (unreachable, timed out, redirected, non-2xx).
    #[error("{0}")]
    EndpointFailed(String),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> RegistryError {
    RegistryError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// The key (`name`, or `uri` for resources) of a stored document.
#[must_use]
pub fn key_of(kind: Kind, doc: &Value) -> &str {
    doc[kind.key_field()].as_str().unwrap_or_default()
}

#[cfg(test)]
mod tests;
