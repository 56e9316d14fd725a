//! mcpflow's shared library: domain model, ports and adapters, configuration, telemetry and errors.

pub mod adapters;
pub mod audit;
pub mod auth;
pub mod aws;
pub mod config;
pub mod conversation;
pub mod error;
pub mod health;
pub mod ids;
pub mod key_admin;
pub mod keys;
pub mod models;
pub mod providers;
pub mod ratelimit;
pub mod registered;
pub mod secret;
pub mod secrets;
pub mod telemetry;
pub mod tenant;

pub use config::Config;
pub use error::ApiError;
