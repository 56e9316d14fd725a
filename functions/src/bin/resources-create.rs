//! Lambda entry point of `resources-create`: `POST /api/v1/resources`, audited.

use functions::api::requests::ResourcePath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(
        wiring::registry().await?.audited(),
        registered::create::<ResourcePath, _>,
    )
    .await
}
