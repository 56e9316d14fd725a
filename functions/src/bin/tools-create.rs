//! Lambda entry point of `tools-create`: `POST /api/v1/tools`, audited.

use functions::api::requests::ToolPath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::registry().await?.audited(), registered::create::<ToolPath, _>).await
}
