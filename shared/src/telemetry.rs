//! Tracing set-up: JSON lines in Lambda (`AWS_LAMBDA_LOG_FORMAT=JSON`), compact text for people.

use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber; call once at start-up.
///
/// With `MCPFLOW_SPAN_TIMES=1` (`make bench`, never a deployment) each span that the filter lets
/// through is logged when it closes with its `time.busy` (polled) and `time.idle`: the Lambda runtime's
/// `Lambda runtime invoke` span (`RUST_LOG=…,lambda_runtime::layers::trace=info`) gives an invocation's
/// own CPU time apart from its waits.
pub fn init(format: LogFormat, level: &str) {
    // rmcp logs every stateless request at info (three lines with the client's details): warn is enough.
    let directives = if level.contains("rmcp") {
        level.to_owned()
    } else {
        format!("{level},rmcp=warn")
    };
    let filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_span_events(if std::env::var_os("MCPFLOW_SPAN_TIMES").is_some_and(|v| v == "1") {
            FmtSpan::CLOSE
        } else {
            FmtSpan::NONE
        });
    // `try_init` so a second call (tests, or a binary that also initialises) is harmless.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .without_time()
            .try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}
