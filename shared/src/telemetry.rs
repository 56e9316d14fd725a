//! Tracing set-up: JSON lines in Lambda (`AWS_LAMBDA_LOG_FORMAT=JSON`), compact text for people.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// The filter of `level`: `target=level` directives and a default level, comma-separated
/// (`warn,mcpflow::aws_call=debug`), as `RUST_LOG` takes them, `fatal` (a Lambda log level) read as
/// `error`; `info` when `level` does not parse.
/// Plain targets and levels only, no span or field filters: so no function links a regex engine for
/// its logging (`EnvFilter` does: 0.8 MB of `tools-get`'s arm64 binary, README, "Measure it").
///
/// rmcp logs every stateless request at info (three lines with the client's details): it gets `warn`
/// unless `level` names it.
#[must_use]
pub fn filter(level: &str) -> Targets {
    // Lambda's log levels include FATAL, which tracing has not: its errors are the closest.
    // Empty directives (`debug,`) are skipped, as `RUST_LOG` skips them (`Targets` would read one as
    // `error` for every target).
    let level = level
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| match d.strip_suffix("fatal") {
            Some(target) if target.is_empty() || target.ends_with('=') => format!("{target}error"),
            _ => d.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",");
    let directives = if level.is_empty() {
        "info,rmcp=warn".to_owned()
    } else if level.contains("rmcp") {
        level
    } else {
        format!("{level},rmcp=warn")
    };
    directives
        .parse()
        .unwrap_or_else(|_| "info,rmcp=warn".parse().unwrap_or_default())
}

/// Installs the global subscriber; call once at start-up.
///
/// With `MCPFLOW_SPAN_TIMES=1` (`make bench`, never a deployment) each span that the filter lets
/// through is logged when it closes with its `time.busy` (polled) and `time.idle`: the Lambda runtime's
/// `Lambda runtime invoke` span (`RUST_LOG=…,lambda_runtime::layers::trace=info`) gives an invocation's
/// own CPU time apart from its waits.
pub fn init(format: LogFormat, level: &str) {
    let spans = if std::env::var_os("MCPFLOW_SPAN_TIMES").is_some_and(|v| v == "1") {
        FmtSpan::CLOSE
    } else {
        FmtSpan::NONE
    };
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_span_events(spans);
    let registry = tracing_subscriber::registry().with(filter(level));
    // `try_init` so a second call (tests, or a binary that also initialises) is harmless.
    let _ = match format {
        LogFormat::Json => registry
            .with(lines.json().flatten_event(true).with_current_span(false).without_time())
            .try_init(),
        LogFormat::Text => registry.with(lines.compact()).try_init(),
    };
}

#[cfg(test)]
mod tests;
