//! Lambda entry point of `models`.

use functions::models::handle;
use lambda_http::{run, service_fn, Error};
use shared::{telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format, &config.log_level);
    let view = config.models.view(&config.credentials);
    run(service_fn(|req| handle(&view, req))).await
}
