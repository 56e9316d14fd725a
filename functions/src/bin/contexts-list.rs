//! Lambda entry point of `contexts-list`: `GET /api/v1/mcp/contexts`.

use functions::{api, contexts, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::conversation().await?, contexts::list).await
}
