//! Ports: contexts and their nodes, and their edits.

use std::future::Future;

use super::model::{Context, Node};
use crate::conversation::store::StoreError;
use crate::tasks::model::Task;

/// The cap on live (unexpired) contexts of one owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    /// The authenticated principal's subject (API key id or JWT `sub`), within the context's tenant;
    /// never a caller-chosen `user_id`.
    pub owner: String,
    pub max: usize,
    /// Unix seconds: contexts expiring before this no longer count.
    pub now: i64,
}

/// What a reservation takes of a context: `count` sequence numbers and `bytes` of content, within
/// `max_nodes` sequence numbers and `max_bytes` of content in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub count: u64,
    pub bytes: u64,
    pub max_nodes: u64,
    pub max_bytes: u64,
}

/// Sequence numbers reserved in a context, with what the reservation read of the context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    pub first: u64,
    pub model_id: String,
    pub expires_at: i64,
}

/// Port: contexts and their nodes, always within a tenant.
pub trait ContextStore: Send + Sync {
    /// Writes the context and its nodes (numbered from 1) with `record`, the new task that records
    /// the creation, all or nothing, unless the owner already has `quota.max` live contexts
    /// ([`StoreError::LimitReached`]).
    fn create(
        &self,
        context: &Context,
        quota: &Quota,
        record: &Task,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn get(&self, tenant: &str, id: &str) -> impl Future<Output = Result<Option<Context>, StoreError>> + Send;
    /// Reserves `claim.count` consecutive sequence numbers and `claim.bytes` of content of a context
    /// that has not expired by `now_secs`, unless that would go past sequence number `max_nodes`
    /// ([`StoreError::LimitReached`]) or `max_bytes` of content ([`StoreError::SizeReached`]); a missing
    /// or expired context is [`StoreError::NotFound`]. One conditional write, no read.
    fn reserve(
        &self,
        tenant: &str,
        id: &str,
        claim: Claim,
        now: (&str, i64),
    ) -> impl Future<Output = Result<Reserved, StoreError>> + Send;
    /// Writes a node at its reserved `seq` unless one is there; `false` when it already was.
    fn put_node(
        &self,
        tenant: &str,
        id: &str,
        node: &Node,
        expires_at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Port additions for edits: removing nodes and whole contexts.
pub trait ContextEdits: Send + Sync {
    /// Removes the node at `seq`; `false` when there was none.
    fn delete_node(&self, tenant: &str, id: &str, seq: u64) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Removes the context and every node of it; `false` when there was none.
    fn delete(&self, tenant: &str, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
