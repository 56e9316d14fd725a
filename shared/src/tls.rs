//! One TLS configuration per process for the HTTP clients the functions build.
//!
//! reqwest's `rustls` feature verifies with the platform's certificate store, which it reads and
//! parses each time a client is built; a tool call builds a client of its own (pinned to the address
//! it checked), so each would pay for it. [`client_builder`] reads the store once and hands every
//! builder the same configuration.

use std::sync::OnceLock;

use rustls_platform_verifier::ConfigVerifierExt;

/// A reqwest builder with this process's TLS configuration (reqwest's own when the platform's store
/// cannot be read, so that the error comes from the request that needs it).
pub fn client_builder() -> reqwest::ClientBuilder {
    static CONFIG: OnceLock<Option<rustls::ClientConfig>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| match rustls::ClientConfig::with_platform_verifier() {
        Ok(config) => Some(config),
        Err(e) => {
            tracing::warn!(error = %e, "the platform's certificate store could not be read");
            None
        }
    });
    match config {
        Some(config) => reqwest::Client::builder().tls_backend_preconfigured(config.clone()),
        None => reqwest::Client::builder(),
    }
}
