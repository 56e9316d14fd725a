//! Lambda entry point of `ws-disconnect`: the WebSocket API's `$disconnect`.

use functions::runtime::run_http;
use functions::{websocket, wiring};
use lambda_http::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    let connections = wiring::ws_disconnect().await?;
    // Built once per cold start and used until the environment is frozen for good.
    let connections: &'static _ = Box::leak(Box::new(connections));
    run_http(service_fn(move |req| websocket::disconnect(connections, req))).await
}
