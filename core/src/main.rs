//! The `portcullis` command.

mod cli;

// The gateway allocates a few short-lived buffers per message; glibc's
// malloc was a fifth of its CPU time per call (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tune_allocator();
    cli::main()
}

/// `mi_option_purge_delay` in the mimalloc that libmimalloc-sys builds (its
/// `include/mimalloc.h`, v2 and v3 alike); the crate names no constant for it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long mimalloc keeps freed memory before giving it back to the OS, in
/// milliseconds (its default: 1,000). A first start scans and indexes in a
/// burst and then idles: with 100 ms it idles at about 44 MiB instead of 62,
/// for no measurable CPU per call at 64 sessions; 0 gave 2 MiB more back and
/// cost a quarter more CPU per call (tests/bench/NOTES-peers.md).
const PURGE_DELAY_MS: std::ffi::c_long = 100;

/// Sets the allocator's options, unless `MIMALLOC_PURGE_DELAY` says otherwise.
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: called first in `main`, before any thread the program starts
    // (mimalloc's option table is not synchronized); the option is a valid
    // index of that table and the value a plain number of milliseconds.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
}
