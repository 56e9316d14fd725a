//! Lambda entry point of `resources-get`: `GET /api/v1/resources/{uri}`.

use functions::api::requests::ResourcePath;
use functions::{api, registered, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::registry().await?, registered::get::<ResourcePath, _>).await
}
