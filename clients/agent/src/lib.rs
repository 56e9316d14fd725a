//! The reference pipeline agent, as a library: [`client`] speaks mcpflow's agent protocol, [`stages`]
//! is what it does for each stage type, and [`run`] is the loop the `mcpflow-agent` binary runs.

pub mod client;
pub mod run;
pub mod stages;
pub mod storage;

pub use client::{Agent, Report, StageTask};
