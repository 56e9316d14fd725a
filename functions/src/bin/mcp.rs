//! Lambda entry point of `mcp`: the MCP endpoint (`POST /mcp`; `GET`/`DELETE` answer 405).

use functions::mcp::lambda::handle;
use functions::runtime::run_http;
use functions::wiring::mcp;
use lambda_http::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    let endpoint = mcp().await?;
    // Built once per cold start and used until the environment is frozen for good.
    let endpoint: &'static _ = Box::leak(Box::new(endpoint));
    run_http(service_fn(move |req| handle(endpoint, req))).await
}
