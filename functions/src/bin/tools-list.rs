//! Lambda entry point of `tools-list`: `GET /api/v1/tools`.

use functions::api::requests::ToolPath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::registry().await?, registered::list::<ToolPath, _>).await
}
