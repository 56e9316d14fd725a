//! Conversation contexts and AI tasks: the domain of the REST API's contexts and the task worker.
//!
//! Its items in the table (contexts, nodes, listing entries, quotas, tasks, counters, outbox entries)
//! and which operation reads each are in the access-pattern table of [`crate::dynamodb`].
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
