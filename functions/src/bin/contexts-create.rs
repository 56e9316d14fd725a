//! Lambda entry point of `contexts-create`: `POST /api/v1/mcp/contexts`, audited.

use functions::{api, contexts, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::conversation().await?.audited(), contexts::create).await
}
