//! mcpflow's Lambda handlers. Each bin in `src/bin/` wires one of these to the runtime.

pub mod audit;
pub mod auth;
pub mod authorizer;
pub mod conversation;
pub mod dead_letters;
pub mod edits;
pub mod health;
pub mod http;
pub mod keys;
pub mod listing;
pub mod mcp;
pub mod models;
pub mod outbox;
pub mod registered;
pub mod wiring;
pub mod worker;
