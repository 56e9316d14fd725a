//! Tasks: every operation is recorded as a task; a prompt or a standalone completion is a pending
//! task that the worker runs, queued by priority band on a FIFO queue per context. Its REST routes
//! are in `functions/src/tasks.rs`.
//!
//! | file | what |
//! | --- | --- |
//! | `model.rs` | `Task`, its status, type and priority band |
//! | `service.rs`, `listing.rs`, `completion.rs` | the operations (on `crate::conversation::service::Deps`) |
//! | `outbox.rs` | a queued task is written with its outbox entry, then sent; the sweep sends what a dead creator left |
//! | `stats.rs` | the per-tenant counters |
//! | `store.rs` | the ports (tasks, queue) |
//! | `stages.rs` | the port of pipeline stage tasks (assigned to an agent, claimed, reported on) |
//! | `updates.rs` | the port its changes of state are published through |
//! | `dynamodb/`, `sqs.rs` | the store on the table, the queues on SQS |

pub mod completion;
pub mod dynamodb;
pub mod listing;
pub mod model;
pub mod outbox;
pub mod service;
pub mod sqs;
pub mod stages;
pub mod stats;
pub mod store;
pub mod updates;
