//! Lambda entry point of `ws-auth-timeout`: closes connections opened without credentials that did
//! not authenticate with their first message in time.

use functions::runtime::run_events;
use functions::{websocket, wiring};
use lambda_runtime::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    let (connections, pusher) = wiring::ws_auth_timeout().await?;
    run_events(service_fn(|event| {
        websocket::auth_timeout(&connections, &pusher, event)
    }))
    .await
}
