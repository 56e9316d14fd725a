//! Lambda entry point of `tools-list`: `GET /api/v1/tools`.

use functions::api::requests::ToolPath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::registry().await?, registered::list::<ToolPath, _>).await
}
