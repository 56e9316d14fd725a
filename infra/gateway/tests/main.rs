//! End-to-end tests against the local stack (`make test` starts it and runs them with `--ignored`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit;
mod auth_matrix;
mod bad_credentials;
mod context_size;
mod conversation;
mod fifo_trigger;
mod helpers;
mod http_api;
mod limits_and_load;
mod mcp;
mod mcp_client;
mod mcp_roles;
mod outbox;
mod rate_limit;
mod redelivery;
mod registered;
mod secrets;
mod slow_provider;
mod sqs_trigger;
mod task_listing;
