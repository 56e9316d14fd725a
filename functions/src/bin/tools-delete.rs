//! Lambda entry point of `tools-delete`: `DELETE /api/v1/tools/{name}`, audited.

use functions::api::requests::ToolPath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::registry().await?.audited(), registered::delete::<ToolPath, _>).await
}
