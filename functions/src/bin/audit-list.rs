//! Lambda entry point of `audit-list`: `GET /api/v1/audit`.

use functions::{api, audit, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    api::run(wiring::audit_log().await?, audit::list).await
}
