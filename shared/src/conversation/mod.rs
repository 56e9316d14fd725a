//! What contexts, tasks and the worker share: the service object [`service::Deps`] they each add
//! their operations to (`crate::contexts`, `crate::tasks`, `crate::worker`), the errors of those
//! operations, the store error, listing pages, the records the operations first write, and the
//! in-memory stores of both contexts and tasks (one state, as one table) for unit tests.
//!
//! Its items in the table (contexts, nodes, listing entries, quotas, tasks, counters, outbox entries)
//! and which operation reads each are in the access-pattern table of [`crate::dynamodb`].
//!
//! A context and its nodes share a partition, so reading one is a single `Query`. A prompt reserves
//! two sequence numbers at once — its user node and the slot of its reply — so completions land in
//! prompt order whatever order the worker finishes them in, and a redelivered task cannot write its
//! reply twice (the slot is written only if absent). Ids start with the creation time in
//! milliseconds, so listing a partition backwards is newest first.

pub mod errors;
pub mod listing;
pub mod memory;
pub(crate) mod records;
pub mod service;
pub mod store;
