//! A context and its nodes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A node's content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContentType {
    Text,
    Json,
}

/// One entry of a conversation; `metadata.role` is system, user, assistant or tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub node_id: String,
    pub seq: u64,
    pub content: String,
    pub content_type: ContentType,
    pub metadata: Map<String, Value>,
    pub created_at: String,
}

impl Node {
    #[must_use]
    pub fn role(&self) -> &str {
        self.metadata.get("role").and_then(Value::as_str).unwrap_or("user")
    }
}

/// A conversation context with its nodes in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Context {
    pub context_id: String,
    #[serde(skip)]
    pub tenant: String,
    pub model_id: String,
    pub user_id: Option<String>,
    pub metadata: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
    /// Unix seconds; DynamoDB's TTL removes the context after it.
    pub expires_at: i64,
    pub nodes: Vec<Node>,
}

impl Context {
    /// The bytes of its nodes' contents: what `MaxContextBytes` limits.
    #[must_use]
    pub fn content_bytes(&self) -> u64 {
        self.nodes.iter().map(|n| n.content.len() as u64).sum()
    }
}
