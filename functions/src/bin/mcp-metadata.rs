//! Lambda entry point of `mcp-metadata`: the OAuth protected-resource metadata of the MCP endpoint.

use functions::mcp::lambda::protected_resource;
use functions::runtime::run_http;
use lambda_http::{service_fn, Error, Request};
use shared::{telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    let config = Config::from_env()?;
    telemetry::init(config.log_format, &config.log_level);
    let issuer = config.jwt.as_ref().map(|j| j.issuer.clone());
    run_http(service_fn(move |req: Request| {
        let response = protected_resource(&req, issuer.as_deref());
        async move { Ok::<_, Error>(response) }
    }))
    .await
}
