//! Lambda entry point of `contexts-get`: `GET /api/v1/mcp/contexts/{contextID}`.

use functions::{api, contexts, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::conversation().await?, contexts::get).await
}
