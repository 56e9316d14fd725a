//! The product's end-to-end tests against the local stack, over real HTTP (`make test` starts the
//! stack and runs them with `--ignored`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agents;
mod audit;
mod auth_matrix;
mod bad_credentials;
mod completion_stream;
mod completion_tools;
mod completions;
mod context_size;
mod conversation;
mod executions;
mod helpers;
mod http_api;
mod integrations;
mod limits_and_load;
mod logs;
mod mcp;
mod mcp_client;
mod mcp_roles;
mod outbox;
mod pipelines;
mod rate_limit;
mod redelivery;
mod registered;
mod round_trips;
mod secrets;
mod slow_provider;
mod system;
mod task_listing;
mod websocket;
