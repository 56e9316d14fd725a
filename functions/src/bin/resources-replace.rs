//! Lambda entry point of `resources-replace`: `PUT /api/v1/resources/{uri}`, audited.

use functions::api::requests::ResourcePath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(
        wiring::registry().await?.audited(),
        registered::replace::<ResourcePath, _>,
    )
    .await
}
