//! Lambda entry point of `ws-connect`: the WebSocket API's `$connect`.

use functions::runtime::run_http;
use functions::{websocket, wiring};
use lambda_http::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    let deps = wiring::ws_connect().await?;
    // Built once per cold start and used until the environment is frozen for good.
    let deps: &'static _ = Box::leak(Box::new(deps));
    run_http(service_fn(move |req| websocket::connect(deps, req))).await
}
