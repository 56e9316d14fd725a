//! `mcpflow-agent`: the reference pipeline agent. It registers with `--key` (an admin's or an
//! operator's API key), then heartbeats and runs the stages of the types it was given until stopped.
//! `s3://` input and output use the standard AWS configuration (credentials, region,
//! `AWS_ENDPOINT_URL_S3`).
//!
//! ```text
//! mcpflow-agent --url http://127.0.0.1:3000 --key "$MCPFLOW_ADMIN_KEY" --name ingest-1 --capabilities data-ingestion
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use mcpflow_agent::run::{serve, Options};
use mcpflow_agent::storage::Storage;
use mcpflow_agent::Agent;

#[derive(Debug, Parser)]
#[command(name = "mcpflow-agent", about = "The reference mcpflow pipeline agent")]
struct Cli {
    /// mcpflow's HTTP API.
    #[arg(long, env = "MCPFLOW_URL", default_value = "http://127.0.0.1:3000")]
    url: String,
    /// An admin's or operator's API key, to register with.
    #[arg(long, env = "MCPFLOW_API_KEY")]
    key: String,
    #[arg(long)]
    name: String,
    /// The stage types it runs (comma-separated).
    #[arg(long, value_delimiter = ',', required = true)]
    capabilities: Vec<String>,
    /// Seconds between heartbeats.
    #[arg(long, default_value_t = 5)]
    heartbeat_secs: u64,
    /// Path-style S3 addresses (`http://host/bucket/key`), for S3 emulators such as moto.
    #[arg(long, env = "MCPFLOW_S3_PATH_STYLE")]
    s3_path_style: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let cli = Cli::parse();
    let agent = Agent::register(&cli.url, ("x-api-key", &cli.key), &cli.name, &cli.capabilities).await?;
    println!("{{\"agent_id\": \"{}\", \"name\": \"{}\"}}", agent.agent_id, cli.name);
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stopping.store(true, Ordering::Relaxed);
    });
    let options = Options {
        heartbeat_every: Duration::from_secs(cli.heartbeat_secs.max(1)),
        ..Options::default()
    };
    let storage = Storage::from_env(cli.s3_path_style).await;
    serve(agent, Some(storage), options, stop).await;
    Ok(())
}
