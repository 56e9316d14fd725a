//! Lambda entry point of `ws-disconnect`: the WebSocket API's `$disconnect`.

use functions::{websocket, wiring};
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    let connections = wiring::ws_disconnect().await?;
    run(service_fn(|req| websocket::disconnect(&connections, req))).await
}
