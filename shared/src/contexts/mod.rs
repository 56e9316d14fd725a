//! Conversation contexts: a context is an ordered list of nodes (system, user, assistant, tool) under
//! a model, kept for `CONTEXT_TTL_SECS`. Its REST routes are in `functions/src/contexts.rs`.
//!
//! A context and its nodes share a partition, so reading one is a single `Query`. A prompt reserves
//! two sequence numbers at once — its user node and the slot of its reply — so completions land in
//! prompt order whatever order the worker finishes them in, and a redelivered task cannot write its
//! reply twice (the slot is written only if absent). Ids start with the creation time in
//! milliseconds, so listing a partition backwards is newest first.
//!
//! A context's `META` item holds its model, metadata, `next_seq` (the next free sequence number),
//! `content_bytes`, `expires_at` and `quota_sk` (the quota item that counts it); each node is its own
//! item. Keys: the access-pattern table of [`crate::dynamodb`].
//!
//! | file | what |
//! | --- | --- |
//! | `model.rs` | `Context`, `Node` |
//! | `requests.rs` | the create and prompt bodies, validated against the configured limits |
//! | `service.rs`, `edits.rs`, `listing.rs` | the operations (on `crate::conversation::service::Deps`) |
//! | `paging.rs` | a page of a context's nodes |
//! | `store.rs` | the ports |
//! | `dynamodb/` | the store on the table |

pub mod dynamodb;
pub mod edits;
pub mod listing;
pub mod model;
pub mod paging;
pub mod requests;
pub mod service;
pub mod store;
