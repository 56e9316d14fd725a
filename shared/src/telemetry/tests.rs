use tracing::Level;

use super::filter;

#[test]
fn directives_set_a_default_level_and_levels_per_target() {
    // GIVEN the filter make bench runs the functions with
    let f = filter("warn,lambda_runtime::layers::trace=info,mcpflow::aws_call=debug");
    // THEN each named target logs from its own level, everything else from the default
    assert!(f.would_enable("mcpflow::aws_call", &Level::DEBUG));
    assert!(f.would_enable("lambda_runtime::layers::trace", &Level::INFO));
    assert!(!f.would_enable("lambda_runtime::layers::trace", &Level::DEBUG));
    assert!(f.would_enable("shared::tasks", &Level::WARN));
    assert!(!f.would_enable("shared::tasks", &Level::INFO));
}

#[test]
fn rmcp_logs_from_warn_unless_the_level_names_it() {
    let quiet = filter("debug");
    assert!(quiet.would_enable("shared::tasks", &Level::DEBUG));
    assert!(!quiet.would_enable("rmcp::handler::server", &Level::INFO));
    assert!(quiet.would_enable("rmcp::handler::server", &Level::WARN));
    let named = filter("info,rmcp=debug");
    assert!(named.would_enable("rmcp::handler::server", &Level::DEBUG));
}

#[test]
fn lambda_s_fatal_level_logs_errors_only() {
    // AWS_LAMBDA_LOG_LEVEL may be FATAL, which tracing has no level for
    let f = filter("fatal");
    assert!(f.would_enable("shared::tasks", &Level::ERROR));
    assert!(!f.would_enable("shared::tasks", &Level::WARN));
    let f = filter("info,shared::tasks=fatal");
    assert!(!f.would_enable("shared::tasks", &Level::WARN));
    assert!(f.would_enable("shared::other", &Level::INFO));
}

#[test]
fn directives_that_do_not_parse_log_from_info() {
    // a level that is none: the whole filter falls back, not just that directive
    let f = filter("debug,shared::tasks=loud");
    assert!(f.would_enable("shared::other", &Level::INFO));
    assert!(!f.would_enable("shared::other", &Level::DEBUG));
}

#[test]
fn empty_directives_are_skipped() {
    for level in ["debug,", "warn,,shared::tasks=debug", " debug , "] {
        let f = filter(level);
        assert!(f.would_enable("shared::tasks", &Level::DEBUG), "{level:?}");
    }
    // and nothing but them is no level at all: info
    let f = filter(" , ");
    assert!(f.would_enable("shared::tasks", &Level::INFO));
    assert!(!f.would_enable("shared::tasks", &Level::DEBUG));
}
