//! The process's own log: `tracing` events to stderr, filtered by
//! `PORTCULLIS_LOG` (an `EnvFilter` directive) or the front end's default.

/// Sends this process's log to stderr, filtered by `PORTCULLIS_LOG` or else
/// by `default` (e.g. `portcullis=info`). Colours only for a person at a
/// terminal (not when `NO_COLOR` is set): log files and CI logs get plain
/// text. A second call does nothing.
pub fn init_logging(default: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env(crate::config::EnvVars::PORTCULLIS_LOG)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi)
        .try_init();
}
