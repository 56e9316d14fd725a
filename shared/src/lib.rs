//! mcpflow's shared library: one folder per capability (its model, port, in-memory and DynamoDB
//! stores), the table's key encoding and SDK helpers (`dynamodb`), configuration, telemetry and errors.

pub mod agents;
pub mod audit;
pub mod auth;
pub mod aws;
pub mod completions;
pub mod config;
pub mod connections;
pub mod contexts;
pub mod conversation;
pub mod dynamodb;
pub mod error;
pub mod health;
pub mod ids;
pub mod integrations;
pub mod keys;
pub mod logs;
pub mod metrics;
pub mod models;
pub mod pipelines;
pub mod providers;
pub mod ratelimit;
pub mod registered;
pub mod secret;
pub mod secrets;
pub mod summary;
pub mod tasks;
pub mod telemetry;
pub mod tenant;
pub mod tls;
pub mod worker;

pub use config::Config;
pub use error::ApiError;
