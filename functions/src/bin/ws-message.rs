//! Lambda entry point of `ws-message`: the WebSocket API's `$default` route.

use functions::{websocket, wiring};
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    let deps = wiring::ws_message().await?;
    run(service_fn(|req| websocket::message(&deps, req))).await
}
