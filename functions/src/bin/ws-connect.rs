//! Lambda entry point of `ws-connect`: the WebSocket API's `$connect`.

use functions::{websocket, wiring};
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    let deps = wiring::ws_connect().await?;
    run(service_fn(|req| websocket::connect(&deps, req))).await
}
