//! The conversation's stores on DynamoDB: contexts and their nodes, tasks (with their indexes and
//! the outbox), the tenant's task counters, and the listings.

pub mod contexts;
pub mod listing;
pub mod task_stats;
pub mod tasks;
