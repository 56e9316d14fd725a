//! Lambda entry point of `mcp`: the MCP endpoint (`POST /mcp`; `GET`/`DELETE` answer 405).

use functions::mcp::lambda::handle;
use functions::wiring::mcp;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    let endpoint = mcp().await?;
    run(service_fn(|req| handle(&endpoint, req))).await
}
