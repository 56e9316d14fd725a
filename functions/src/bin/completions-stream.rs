//! Lambda entry point of `completions-stream`: `POST /api/v1/completions/stream` from a function URL
//! in response-streaming mode, authenticating its callers itself; audited.

use functions::api::streaming::run_streaming;
use functions::completions::stream::{stream, ROUTE};
use functions::wiring;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    let (app, auth) = wiring::completions_stream().await?;
    run_streaming(app.audited(), auth, ROUTE, stream).await
}
