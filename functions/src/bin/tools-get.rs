//! Lambda entry point of `tools-get`: `GET /api/v1/tools/{name}`.

use functions::api::requests::ToolPath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::registry().await?, registered::get::<ToolPath, _>).await
}
