//! Lambda entry point of `audit-list`: `GET /api/v1/audit`.

use functions::{api, audit, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::audit_log().await?, audit::list).await
}
