//! Request shapes several routes share: a path id, a path id with a body, a body, nothing. A route
//! with its own shape (a key to create, a filtered listing) defines it beside its handler.

use std::marker::PhantomData;

use lambda_http::{Request, RequestExt};
use serde_json::Value;
use shared::ids::IdKind;
use shared::registered::endpoint::EndpointPolicy;
use shared::registered::service::Checked;
use shared::registered::{Kind, RegistryError};
use shared::ApiError;

use super::ApiRequest;
use crate::http;

/// What a path parameter names: its id format, and the largest body a route on it accepts.
pub trait PathKind {
    const ID: IdKind;
    const MAX_BODY_BYTES: usize;
}

/// Largest body of a contexts or tasks request (a create carries up to 95 nodes).
pub const CONVERSATION_BODY_BYTES: usize = 1024 * 1024;
/// Largest body of a registry request (a tool's schema, a template or a resource's content, with room to spare).
pub const REGISTRY_BODY_BYTES: usize = 128 * 1024;

/// `{contextID}`.
pub struct ContextPath;
/// `{taskID}`.
pub struct TaskPath;
/// `{keyID}`.
pub struct KeyPath;
/// `{name}` of a tool.
pub struct ToolPath;
/// `{name}` of a prompt.
pub struct PromptPath;
/// `{uri}` of a resource.
pub struct ResourcePath;
/// `{agentID}`.
pub struct AgentPath;
/// `{pipelineID}`.
pub struct PipelinePath;
/// `{integrationID}`.
pub struct IntegrationPath;
/// `{completionID}`.
pub struct CompletionPath;

impl PathKind for ContextPath {
    const ID: IdKind = IdKind::Context;
    const MAX_BODY_BYTES: usize = CONVERSATION_BODY_BYTES;
}
impl PathKind for TaskPath {
    const ID: IdKind = IdKind::Task;
    const MAX_BODY_BYTES: usize = CONVERSATION_BODY_BYTES;
}
impl PathKind for AgentPath {
    const ID: IdKind = IdKind::Agent;
    /// A registration or a heartbeat.
    const MAX_BODY_BYTES: usize = 16 * 1024;
}
impl PathKind for PipelinePath {
    const ID: IdKind = IdKind::Pipeline;
    /// A definition of up to 20 stages, with room to spare.
    const MAX_BODY_BYTES: usize = 64 * 1024;
}
impl PathKind for IntegrationPath {
    const ID: IdKind = IdKind::Integration;
    /// A model configuration and up to 3 × 64 registered names, with room to spare.
    const MAX_BODY_BYTES: usize = 64 * 1024;
}
impl PathKind for CompletionPath {
    const ID: IdKind = IdKind::Completion;
    const MAX_BODY_BYTES: usize = CONVERSATION_BODY_BYTES;
}
impl PathKind for KeyPath {
    const ID: IdKind = IdKind::Key;
    const MAX_BODY_BYTES: usize = 4 * 1024;
}

/// A registered item's path parameter, with its kind and that kind's check (only the tool's links
/// the JSON Schema compiler).
pub trait RegisteredPath: PathKind {
    const KIND: Kind;

    /// `body` checked as a registration of this kind.
    ///
    /// # Errors
    /// [`RegistryError::Invalid`] naming the field.
    fn check(body: &Value, policy: EndpointPolicy) -> Result<Checked, RegistryError>;
}
impl PathKind for ToolPath {
    const ID: IdKind = IdKind::Registered(Kind::Tool);
    const MAX_BODY_BYTES: usize = REGISTRY_BODY_BYTES;
}
impl RegisteredPath for ToolPath {
    const KIND: Kind = Kind::Tool;

    fn check(body: &Value, policy: EndpointPolicy) -> Result<Checked, RegistryError> {
        Checked::tool(body, policy)
    }
}
impl PathKind for PromptPath {
    const ID: IdKind = IdKind::Registered(Kind::Prompt);
    const MAX_BODY_BYTES: usize = REGISTRY_BODY_BYTES;
}
impl RegisteredPath for PromptPath {
    const KIND: Kind = Kind::Prompt;

    fn check(body: &Value, _: EndpointPolicy) -> Result<Checked, RegistryError> {
        Checked::prompt(body)
    }
}
impl PathKind for ResourcePath {
    const ID: IdKind = IdKind::Registered(Kind::Resource);
    const MAX_BODY_BYTES: usize = REGISTRY_BODY_BYTES;
}
impl RegisteredPath for ResourcePath {
    const KIND: Kind = Kind::Resource;

    fn check(body: &Value, _: EndpointPolicy) -> Result<Checked, RegistryError> {
        Checked::resource(body)
    }
}

/// A route that takes nothing but its caller.
pub struct NoInput;

impl ApiRequest for NoInput {
    fn parse(_: &Request) -> Result<Self, ApiError> {
        Ok(Self)
    }
}

/// A route on one item: its checked path id, which is the audit target.
pub struct Id<K> {
    pub id: String,
    kind: PhantomData<K>,
}

impl<K: PathKind> ApiRequest for Id<K> {
    fn parse(req: &Request) -> Result<Self, ApiError> {
        Ok(Self {
            id: http::path_id(req, K::ID)?,
            kind: PhantomData,
        })
    }

    fn target(&self) -> Option<String> {
        Some(self.id.clone())
    }
}

/// A route on one item with a JSON body (checked after the id).
pub struct IdWithBody<K> {
    pub id: String,
    pub body: Value,
    kind: PhantomData<K>,
}

impl<K: PathKind> ApiRequest for IdWithBody<K> {
    fn parse(req: &Request) -> Result<Self, ApiError> {
        let id = http::path_id(req, K::ID)?;
        Ok(Self {
            id,
            body: http::json_body(req, K::MAX_BODY_BYTES)?,
            kind: PhantomData,
        })
    }

    fn target(&self) -> Option<String> {
        Some(self.id.clone())
    }

    fn target_unparsed(req: &Request) -> Option<String> {
        http::path_id(req, K::ID).ok()
    }
}

/// A route that creates an item of `K`'s kind from a JSON body; a registered item's key in the body is
/// its audit target.
pub struct NewItem<K> {
    pub body: Value,
    kind: PhantomData<K>,
}

impl<K: PathKind> ApiRequest for NewItem<K> {
    fn parse(req: &Request) -> Result<Self, ApiError> {
        Ok(Self {
            body: http::json_body(req, K::MAX_BODY_BYTES)?,
            kind: PhantomData,
        })
    }

    fn target(&self) -> Option<String> {
        match K::ID {
            IdKind::Registered(kind) => self.body[kind.key_field()].as_str().map(str::to_owned),
            _ => None,
        }
    }
}

/// The query parameter `name`, if given.
#[must_use]
pub fn query(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_owned)
}

/// The `limit` query parameter of a listing: `default` when absent, else a whole number from 1 to
/// `max`.
///
/// # Errors
/// `400 INVALID_LIMIT` for anything else.
pub fn page_limit(req: &Request, default: usize, max: usize) -> Result<usize, ApiError> {
    match query(req, "limit").as_deref().map(str::parse::<usize>) {
        None => Ok(default),
        Some(Ok(n)) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(
            "INVALID_LIMIT",
            format!("limit must be a whole number from 1 to {max}"),
        )),
    }
}

/// The `cursor` query parameter of a listing whose cursors are ids of `kind`: `None` when absent.
///
/// # Errors
/// `400 INVALID_CURSOR` for a value that is not such an id (so not one the listing handed out).
pub fn id_cursor(req: &Request, kind: IdKind) -> Result<Option<String>, ApiError> {
    cursor(req, |c| kind.matches(c))
}

/// The `cursor` query parameter of a listing, when `valid` takes it: `None` when absent.
///
/// # Errors
/// `400 INVALID_CURSOR` for a value `valid` refuses (so not one the listing handed out).
pub fn cursor(req: &Request, valid: impl Fn(&str) -> bool) -> Result<Option<String>, ApiError> {
    match query(req, "cursor") {
        None => Ok(None),
        Some(c) if valid(&c) => Ok(Some(c)),
        Some(_) => Err(ApiError::bad_request(
            "INVALID_CURSOR",
            "cursor is not one this listing handed out",
        )),
    }
}
