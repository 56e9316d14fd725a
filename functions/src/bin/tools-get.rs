//! Lambda entry point of `tools-get`: `GET /api/v1/tools/{name}`.

use functions::api::requests::ToolPath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::registry().await?, registered::get::<ToolPath, _>).await
}
