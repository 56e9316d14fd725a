//! `local-gateway provision` creates template.yaml's resources on the emulators and writes the functions'
//! environment; `local-gateway serve` serves the HTTP API and runs the SQS triggers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use aws_config::SdkConfig;
use gateway::host::FunctionHost;
use gateway::invoke::{Invoker, LambdaInvoker};
use gateway::provision::{provision_with, Stack};
use gateway::server::{router, HttpApi};
use gateway::template::Template;
use gateway::websocket::routes::WsRoutes;
use gateway::websocket::WebSocketApi;
use gateway::{local, poller, schedule};
use shared::aws::AwsClients;

const USAGE: &str = "usage: local-gateway provision [--template F] [--stack NAME] [--env-file F]
       local-gateway provision ... [--parameter Name=Value]...
       local-gateway serve [--template F] [--stack NAME] [--port N] [--invoke-timeout SECS]
                           [--functions-dir DIR --env-file F [--parameter Name=Value]... [--chaos-kill-rate P]]
                           [--schedule-period SECS] [--host-http INSTANCES] [--ws-port N] [--console-dir DIR]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init(
        shared::config::LogFormat::Text,
        "info,aws_config=warn,aws_smithy_runtime=warn",
    );
    let args = local::Args::parse(std::env::args().skip(1)).context(USAGE)?;
    let template = Template::load(&args.template)?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = AwsClients::load().await;
    let stack = Stack {
        name: args.stack.clone(),
        region: local::region(&sdk),
        account: "123456789012".into(),
    };
    match args.command.as_str() {
        "provision" => {
            let provisioned = provision_with(&template, &clients, &stack, &args.parameters).await?;
            local::write_environment(&template, &provisioned, &args)
        }
        "serve" => {
            let host = start_triggers(&template, &clients, &stack, &sdk, &args).await?;
            match host {
                Some(host) if args.http_instances > 0 => {
                    serve_apis(&template, Arc::clone(&host), Some(host), &args).await
                }
                host => {
                    let invoker = LambdaInvoker::new(local::lambda_client(&sdk));
                    serve_apis(&template, invoker, host, &args).await
                }
            }
        }
        other => anyhow::bail!("unknown command {other:?}\n{USAGE}"),
    }
}

/// Spawns the pollers of every SQS trigger and the timers of every `Schedule` event; they run until
/// the process exits. With `--functions-dir`, the triggered functions run under the gateway's own
/// host (timeouts kill, instances up to the triggers' concurrency), which is returned; else through the
/// Lambda Invoke API.
async fn start_triggers(
    template: &Template,
    clients: &AwsClients,
    stack: &Stack,
    sdk: &SdkConfig,
    args: &local::Args,
) -> anyhow::Result<Option<Arc<FunctionHost>>> {
    let sources = local::sqs_sources(template, clients, stack).await?;
    let runs = local::scheduled_runs(template, stack, args)?;
    if let Some(dir) = &args.functions_dir {
        let host = Arc::new(local::function_host(template, &sources, dir, args)?);
        spawn_triggers(clients, &host, runs, sources, "hosted");
        return Ok(Some(host));
    }
    anyhow::ensure!(args.http_instances == 0, "--host-http needs --functions-dir");
    let invoker = Arc::new(LambdaInvoker::new(local::lambda_client(sdk)));
    spawn_triggers(clients, &invoker, runs, sources, "Invoke API");
    Ok(None)
}

fn spawn_triggers<I: Invoker>(
    clients: &AwsClients,
    invoker: &Arc<I>,
    runs: Vec<schedule::ScheduledRun>,
    sources: Vec<poller::SqsSource>,
    how: &str,
) {
    for run in runs {
        tracing::info!(function = %run.function, every = ?run.every, how, "scheduled");
        tokio::spawn(schedule::run(Arc::clone(invoker), run));
    }
    for source in sources {
        tracing::info!(function = %source.function, queue = %source.queue_arn, how, "polling");
        tokio::spawn(poller::run(clients.sqs.clone(), Arc::clone(invoker), source));
    }
}

/// Serves the HTTP API on `--port` and the WebSocket API (if the template has one) on `--ws-port`,
/// until Ctrl-C or SIGTERM.
async fn serve_apis<I: Invoker + Clone>(
    template: &Template,
    invoker: I,
    host: Option<Arc<FunctionHost>>,
    args: &local::Args,
) -> anyhow::Result<()> {
    if let Some(routes) = WsRoutes::from_template(template)? {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.ws_port))
            .await
            .with_context(|| format!("port {} is busy: stop what uses it or set WS_PORT", args.ws_port))?;
        let domain = format!("127.0.0.1:{}", args.ws_port);
        let api = Arc::new(WebSocketApi::new(
            routes,
            invoker.clone(),
            Duration::from_secs(29),
            "v1".into(),
            domain,
        ));
        tracing::info!("WebSocket API on ws://127.0.0.1:{}/v1", args.ws_port);
        let app = gateway::websocket::router(api).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(local::shutdown())
                .await
        });
    }
    serve_http(template, invoker, host, args).await
}

/// Serves the HTTP API and the function URLs on `--port` until Ctrl-C or SIGTERM.
async fn serve_http<I: Invoker>(
    template: &Template,
    invoker: I,
    host: Option<Arc<FunctionHost>>,
    args: &local::Args,
) -> anyhow::Result<()> {
    let parameters = gateway::provision::parameter_values(template, &args.parameters)?;
    let timeout = Duration::from_secs(args.invoke_timeout);
    let mut api = HttpApi::from_template(template, &parameters, invoker, timeout)?;
    for url in &api.urls {
        tracing::info!(path = %url.path, function = %url.binary, streaming = url.streaming, "function URL");
    }
    api.url_host = host;
    if let Some(cors) = &api.cors {
        tracing::info!(origins = ?cors.allow_origins, "CORS on");
    }
    let api = Arc::new(api);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| format!("port {} is busy: stop what uses it or set GATEWAY_PORT", args.port))?;
    tracing::info!("HTTP API on http://127.0.0.1:{}", args.port);
    let mut app = router(api);
    if let Some(dir) = &args.console_dir {
        tracing::info!("web console on http://127.0.0.1:{}/console/", args.port);
        app = app.merge(gateway::console::router(dir.clone()));
    }
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(local::shutdown())
        .await?;
    Ok(())
}
