//! Lambda entry point of `tools-delete`: `DELETE /api/v1/tools/{name}`, audited.

use functions::api::requests::ToolPath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::registry().await?.audited(), registered::delete::<ToolPath, _>).await
}
