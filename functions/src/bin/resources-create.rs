//! Lambda entry point of `resources-create`: `POST /api/v1/resources`, audited.

use functions::api::requests::ResourcePath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(
        wiring::registry().await?.audited(),
        registered::create::<ResourcePath, _>,
    )
    .await
}
