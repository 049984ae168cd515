//! The `portcullis` command.

mod cli;

// The gateway allocates a few short-lived buffers per message; glibc's
// malloc was a fifth of its CPU time per call (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
