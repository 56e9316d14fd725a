//! mcpflow's Lambda handlers. Each bin in `src/bin/` wires one of these to the runtime.

pub mod health;
pub mod http;
pub mod models;
