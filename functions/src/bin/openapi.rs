//! Lambda entry point of `openapi`: the HTTP API's OpenAPI 3.1 document.

use functions::openapi::{etag, handle};
use functions::runtime::run_http;
use lambda_http::{service_fn, Error, Request};
use shared::{telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::metrics::set_function_name(env!("CARGO_BIN_NAME"));
    let config = Config::from_env()?;
    telemetry::init(config.log_format, &config.log_level);
    let etag = etag();
    run_http(service_fn(move |req: Request| {
        let response = handle(&req, &etag);
        async move { Ok::<_, Error>(response) }
    }))
    .await
}
