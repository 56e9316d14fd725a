//! The local-gateway command line: arguments, the functions' environment file, SQS sources, shutdown.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _};
use aws_sdk_sqs::types::QueueAttributeName;
use shared::aws::AwsClients;

use crate::poller::SqsSource;
use crate::provision::{Provisioned, Stack};
use crate::schedule::ScheduledRun;
use crate::template::Template;

/// Parsed command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    pub command: String,
    pub template: PathBuf,
    pub stack: String,
    pub env_file: Option<PathBuf>,
    /// `--parameter Name=Value`, repeatable: overrides of template parameter defaults.
    pub parameters: BTreeMap<String, String>,
    pub port: u16,
    /// The WebSocket API's port (`--ws-port`, default 3001): where it is served, and the local
    /// endpoint the functions' `WEBSOCKET_ENDPOINT` names.
    pub ws_port: u16,
    pub invoke_timeout: u64,
    /// `serve`: where the functions' bootstrap binaries are, to host the SQS-triggered ones.
    pub functions_dir: Option<PathBuf>,
    /// `serve`: the probability that a hosted invocation is killed mid-run (chaos tests).
    pub chaos_kill_rate: f64,
    /// `serve`: run every `Schedule` event at this period instead of its rate (tests).
    pub schedule_period: Option<u64>,
    /// `serve --functions-dir`: also host the HTTP functions and authorizers, this many instances of
    /// each (their `Timeout` then kills, as on Lambda); 0 leaves them to the Lambda Invoke API.
    pub http_instances: usize,
    /// `serve --console-dir DIR`: the built web console, served at `/console/` on `--port`.
    pub console_dir: Option<PathBuf>,
}

impl Args {
    /// Parses `COMMAND [--flag value]…`.
    ///
    /// # Errors
    /// For a missing command, an unknown flag or a value that does not parse.
    pub fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let command = args.next().context("a command is required")?;
        let mut out = Self {
            command,
            template: PathBuf::from("template.yaml"),
            stack: "mcpflow-local".into(),
            env_file: None,
            parameters: BTreeMap::new(),
            port: 3000,
            ws_port: 3001,
            invoke_timeout: 30,
            functions_dir: None,
            chaos_kill_rate: 0.0,
            schedule_period: None,
            http_instances: 0,
            console_dir: None,
        };
        while let Some(flag) = args.next() {
            let value = args.next().with_context(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--template" => out.template = value.into(),
                "--stack" => out.stack = value,
                "--env-file" => out.env_file = Some(value.into()),
                "--parameter" => {
                    let (name, value) = value
                        .split_once('=')
                        .with_context(|| format!("--parameter {value}: Name=Value"))?;
                    out.parameters.insert(name.to_owned(), value.to_owned());
                }
                "--port" => out.port = value.parse().with_context(|| format!("--port {value}"))?,
                "--ws-port" => out.ws_port = value.parse().with_context(|| format!("--ws-port {value}"))?,
                "--functions-dir" => out.functions_dir = Some(value.into()),
                "--console-dir" => out.console_dir = Some(value.into()),
                "--chaos-kill-rate" => {
                    out.chaos_kill_rate = value.parse().with_context(|| format!("--chaos-kill-rate {value}"))?
                }
                "--schedule-period" => {
                    out.schedule_period = Some(value.parse().with_context(|| format!("--schedule-period {value}"))?)
                }
                "--host-http" => out.http_instances = value.parse().with_context(|| format!("--host-http {value}"))?,
                "--invoke-timeout" => {
                    out.invoke_timeout = value.parse().with_context(|| format!("--invoke-timeout {value}"))?
                }
                _ => bail!("unknown flag {flag}"),
            }
        }
        Ok(out)
    }
}

/// The region the SDK resolved (from `AWS_REGION`), `us-east-1` when none is set.
#[must_use]
pub fn region(sdk: &aws_config::SdkConfig) -> String {
    sdk.region().map_or_else(|| "us-east-1".to_owned(), ToString::to_string)
}

/// A Lambda client that never retries an invocation: a retry could run a function twice.
#[must_use]
pub fn lambda_client(sdk: &aws_config::SdkConfig) -> aws_sdk_lambda::Client {
    let config = aws_sdk_lambda::config::Builder::from(sdk)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_lambda::Client::from_conf(config)
}

/// Writes the functions' resolved environment as `KEY=value` lines (to the file, or stdout).
///
/// # Errors
/// When a variable cannot be resolved or the file cannot be written.
pub fn write_environment(template: &Template, stack: &Provisioned, args: &Args) -> anyhow::Result<()> {
    let env = stack.function_environment(template)?;
    // Single quotes: read literally by both cargo lambda's env-file parser and bash's `source`.
    if let Some((k, _)) = env.iter().find(|(_, v)| v.contains('\'') || v.contains('\n')) {
        anyhow::bail!("environment variable {k} has a quote or a newline, which an env file cannot carry");
    }
    // A WebSocket API is served by this gateway: its execute-api URLs are the local port's.
    let remote = format!("https://{}.execute-api.", crate::provision::LOCAL_WEBSOCKET_API);
    let local = format!("http://127.0.0.1:{}", args.ws_port);
    let text: String = env
        .iter()
        .map(|(k, v)| {
            match v
                .strip_prefix(&remote)
                .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
            {
                Some(path) => format!("{k}='{local}{path}'\n"),
                None => format!("{k}='{v}'\n"),
            }
        })
        .collect();
    match &args.env_file {
        Some(path) => std::fs::write(path, text).with_context(|| path.display().to_string()),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Batches in flight per SQS source without `ScalingConfig.MaximumConcurrency` (AWS scales a
/// standard queue's pollers much further; a 2-core machine cannot).
pub const DEFAULT_CONCURRENCY: u16 = 5;

/// Every SQS trigger of the template, with its queue's URL and ARN looked up on the emulator.
///
/// # Errors
/// When a queue does not exist (run `provision` first) or SQS cannot be reached.
pub async fn sqs_sources(template: &Template, clients: &AwsClients, stack: &Stack) -> anyhow::Result<Vec<SqsSource>> {
    let mut sources = Vec::new();
    for function in template.functions()? {
        for trigger in &function.sqs_triggers {
            let queue = template
                .resources
                .iter()
                .find(|r| r.logical_id == trigger.queue_logical_id)
                .with_context(|| format!("queue {} is not in the template", trigger.queue_logical_id))?;
            let name = crate::resources::queue_name(stack, queue);
            let url = clients
                .sqs
                .get_queue_url()
                .queue_name(&name)
                .send()
                .await
                .with_context(|| format!("queue {name} not found: run `local-gateway provision` first"))?
                .queue_url
                .context("no queue URL")?;
            let attrs = clients
                .sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await?;
            let arn = attrs
                .attributes()
                .and_then(|a| a.get(&QueueAttributeName::QueueArn))
                .cloned()
                .context("no ARN")?;
            sources.push(SqsSource {
                function: function.binary.clone(),
                queue_url: url,
                queue_arn: arn,
                region: stack.region.clone(),
                batch_size: trigger.batch_size,
                report_batch_item_failures: trigger.report_batch_item_failures,
                wait: Duration::from_secs(1),
                concurrency: usize::from(trigger.maximum_concurrency.unwrap_or(DEFAULT_CONCURRENCY)),
                batching_window: Duration::from_secs(trigger.batching_window_secs),
            });
        }
    }
    Ok(sources)
}

/// Instances of a function URL's function at least (each streamed answer holds one to its end).
pub const URL_INSTANCES: usize = 8;

/// The host for the functions that SQS sources and schedules trigger (and, with `--host-http N`,
/// every other function: the HTTP functions and authorizers, N instances each): each function's binary
/// in `dir`, the environment file, its `Timeout` (parameters resolved), and as many instances as its
/// sources may run batches at once.
///
/// # Errors
/// Without `--env-file`, or when it cannot be read.
pub fn function_host(
    template: &Template,
    sources: &[SqsSource],
    dir: &std::path::Path,
    args: &Args,
) -> anyhow::Result<crate::host::FunctionHost> {
    let env_file = args.env_file.as_ref().context("--functions-dir needs --env-file")?;
    let env = crate::host::read_env_file(env_file).with_context(|| env_file.display().to_string())?;
    let mut functions: Vec<crate::host::HostedFunction> = Vec::new();
    let urls = template.function_urls()?;
    for function in template.functions()? {
        let max_instances: usize = sources
            .iter()
            .filter(|s| s.function == function.binary)
            .map(|s| s.concurrency)
            .sum::<usize>()
            + function.schedules.len();
        let triggered = max_instances > 0;
        // A function URL is served by the host whatever `--host-http` says (`cargo lambda watch`
        // cannot stream a response to the gateway).
        let url = urls.iter().any(|u| u.binary == function.binary);
        let max_instances = match (triggered, url) {
            (true, _) => max_instances,
            (false, true) => args.http_instances.max(URL_INSTANCES),
            (false, false) => args.http_instances,
        };
        if max_instances == 0 {
            continue;
        }
        functions.push(crate::host::HostedFunction {
            name: function.binary.clone(),
            binary: dir.join(&function.binary),
            env: env.clone(),
            timeout: Duration::from_secs(template.function_timeout(&function.logical_id, &args.parameters)),
            max_instances,
            chaos: triggered,
        });
    }
    let chaos = crate::host::Chaos {
        kill_rate: args.chaos_kill_rate,
    };
    Ok(crate::host::FunctionHost::new(functions, chaos))
}

/// Every `Schedule` event of the template, at `--schedule-period` when it is given.
///
/// # Errors
/// When the template's functions do not parse.
pub fn scheduled_runs(template: &Template, stack: &Stack, args: &Args) -> anyhow::Result<Vec<ScheduledRun>> {
    let mut runs = Vec::new();
    for function in template.functions()? {
        for schedule in &function.schedules {
            runs.push(ScheduledRun {
                function: function.binary.clone(),
                rule_arn: format!(
                    "arn:aws:events:{}:{}:rule/{}-{}{}",
                    stack.region, stack.account, stack.name, function.logical_id, schedule.name
                ),
                region: stack.region.clone(),
                account: stack.account.clone(),
                every: args.schedule_period.map_or(schedule.every, Duration::from_secs),
            });
        }
    }
    Ok(runs)
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown() {
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    tokio::select! { _ = tokio::signal::ctrl_c() => {}, () = terminate => {} }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> anyhow::Result<Args> {
        Args::parse(text.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn flags_override_defaults() {
        let a = args("serve --port 3100 --stack s1").unwrap();
        assert_eq!((a.command.as_str(), a.port, a.stack.as_str()), ("serve", 3100, "s1"));
        assert_eq!(a.template, PathBuf::from("template.yaml"));
    }

    #[test]
    fn parameters_are_name_value_pairs() {
        let a = args("provision --parameter JwtIssuer=https://i --parameter A=b=c").unwrap();
        assert_eq!(a.parameters["JwtIssuer"], "https://i");
        assert_eq!(a.parameters["A"], "b=c");
        assert!(args("provision --parameter novalue").is_err());
    }

    #[test]
    fn unknown_flags_and_bad_values_are_errors() {
        assert!(args("serve --nope 1").is_err());
        assert!(args("serve --port x").is_err());
        assert!(args("").is_err());
    }
}
