//! The command line: parses arguments, runs one command, and prints errors
//! (with their hints) in one place.

/// Returns an error of the CLI's own, with what to do about it:
/// `fail!(hint = "what to do", "what went wrong: {x}")`.
macro_rules! fail {
    (hint = $hint:expr, $($message:tt)+) => {
        return Err(portcullis::hint::HintedError::new(format!($($message)+), $hint).into())
    };
}

mod activity;
mod args;
mod client;
mod decide;
mod findings;
#[cfg(test)]
mod named_commands_tests;
mod profile;
mod registry;
mod scan_eval;
mod secret;
mod serve;
mod tools;
mod upstream;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// Runs the CLI and turns its outcome into an exit code.
pub(crate) fn main() -> ExitCode {
    // The sandbox launcher forks: it runs before any runtime starts a thread.
    if let Some(status) = portcullis::isolation::sandbox_exec_main() {
        return status;
    }
    let cli = Cli::parse();
    // `portcullis stdio` serves one client: one thread does it with no
    // hand-offs between workers (blocking work still has its own pool).
    let mut builder = match &cli.command {
        Command::Stdio(_) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(cli));
    // A blocking read of stdin cannot be interrupted: do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            print_error(&e);
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(a) => serve::serve(a).await,
        Command::Stdio(a) => serve::stdio(a).await,
        Command::Upstream(a) => upstream::run(a).await,
        Command::Registry(a) => registry::run(a).await,
        Command::Tools(a) => tools::run(a).await,
        Command::Activity(a) => activity::run(a).await,
        Command::Secret(a) => secret::run(a).await,
        Command::Client(a) => client::run(a).await,
        Command::Profile(a) => profile::run(a).await,
        // Taken by `sandbox_exec_main` before the CLI parses anything.
        Command::SandboxExec { .. } => {
            anyhow::bail!("`portcullis sandbox-exec` runs only as the first argument")
        }
        Command::SearchEval { dir, mode } => tools::search_eval(&dir, mode),
        Command::ScanEval { dir, verbose } => scan_eval::run(&dir, verbose),
    }
}

/// The one place errors are printed: the message, then its causes, then
/// what to do (the hint of the error or of the first of its causes that has one).
fn print_error(e: &anyhow::Error) {
    let text = format!("{e}");
    let mut lines = text.lines();
    if let Some(first) = lines.next() {
        eprintln!("error: {first}");
    }
    for l in lines {
        eprintln!("{l}");
    }
    // Errors that quote their source in their own message (`cannot read X: No
    // such file`) would otherwise print it twice.
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            eprintln!("  caused by: {cause}");
        }
    }
    if let Some(hint) = portcullis::hint::hint_of(e.as_ref()) {
        eprintln!("hint: {hint}");
    }
}
