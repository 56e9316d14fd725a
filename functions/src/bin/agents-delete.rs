//! Lambda entry point of `agents-delete`: `DELETE /api/v1/agents/{agentID}`, audited.

use functions::{agents, api, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    api::run(wiring::agents().await?.audited(), agents::delete).await
}
