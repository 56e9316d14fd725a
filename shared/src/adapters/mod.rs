//! Adapters: the ports implemented with real technology, named after it.

pub mod aws_probe;
pub mod dynamodb_audit;
pub mod dynamodb_contexts;
pub mod dynamodb_keys;
pub mod dynamodb_listing;
pub mod dynamodb_ratelimit;
pub mod dynamodb_tasks;
pub mod sqs_task_queue;
