//! mcpflow's Lambda handlers, one module per capability. Each bin in `src/bin/` is named after its
//! function in `template.yaml` and wires one handler of these to the runtime: an HTTP route's bin
//! `<module>-<handler>` runs `<module>::<handler>` through [`api::run`].

pub mod agents;
pub mod api;
pub mod audit;
pub mod auth;
pub mod authorizer;
pub mod completions;
pub mod contexts;
pub mod dead_letters;
pub mod dispatcher;
pub mod executions;
pub mod health;
pub mod http;
pub mod integrations;
pub mod keys;
pub mod logs;
pub mod mcp;
pub mod models;
pub mod openapi;
pub mod outbox;
pub mod pipelines;
pub mod registered;
pub mod runtime;
pub mod stages;
pub mod system;
pub mod tasks;
pub mod websocket;
pub mod wiring;
pub mod worker;
