//! Conversation contexts and AI tasks: the domain of the REST API's contexts and the task worker.
//!
//! DynamoDB layout (single table):
//!
//! | item | pk | sk |
//! | --- | --- | --- |
//! | context | `CTX#<tenant>#<context id>` | `META` (model, metadata, `next_seq`, `expires_at`, `quota_sk`) |
//! | node | `CTX#<tenant>#<context id>` | `NODE#<seq, 10 digits>` |
//! | context listing entry | `TENANT#<tenant>` | `CONTEXT#<context id>` |
//! | context quota of a principal | `TENANT#<tenant>` | `QUOTA#<API key id or JWT subject>` |
//! | task | `TENANT#<tenant>` | `TASK#<task id>` (`expires_at`; `gsi1`–`gsi4` keys: see [`crate::conversation::dynamodb::tasks::index`]) |
//!
//! Every `#`-joined key is built by [`crate::dynamodb::table_keys::join`], which escapes `%` and `#`
//! inside each component, so a tenant or id holding a `#` cannot reach another tenant's items.
//!
//! A context and its nodes share a partition, so reading one is a single `Query`. A prompt reserves
//! two sequence numbers at once — its user node and the slot of its reply — so completions land in
//! prompt order whatever order the worker finishes them in, and a redelivered task cannot write its
//! reply twice (the slot is written only if absent). Ids start with the creation time in
//! milliseconds, so listing a partition backwards is newest first.

pub mod completion;
pub mod dynamodb;
pub mod edits;
pub mod errors;
pub mod input;
pub mod listing;
pub mod memory;
pub mod model;
pub mod outbox;
pub mod paging;
mod records;
pub mod service;
pub mod sqs;
pub mod stats;
pub mod store;
pub mod worker;

pub use model::*;
