//! Lambda entry point of `resources-delete`: `DELETE /api/v1/resources/{uri}`, audited.

use functions::api::requests::ResourcePath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(
        wiring::registry().await?.audited(),
        registered::delete::<ResourcePath, _>,
    )
    .await
}
