//! `portcullis-relay CMD [ARGS...]`: the cheapest possible process between a
//! client and a stdio MCP server, for the overhead benchmark.
//!
//! It starts CMD and copies bytes both ways with one blocking thread per
//! direction: no parsing, no routing, no logging. Whatever it adds to a call
//! is the floor for any gateway that runs as its own process (two more pipe
//! hops and two more wake-ups per call), which puts the gateway's own cost
//! in proportion. Exits when either side closes.

use std::io::{Read, Write};
use std::process::{Command, ExitCode, Stdio};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: portcullis-relay CMD [ARGS...]");
        return ExitCode::from(2);
    };
    let mut child = match Command::new(&program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "portcullis-relay: cannot start {}: {e}",
                program.to_string_lossy()
            );
            return ExitCode::from(1);
        }
    };
    let (Some(mut to_child), Some(mut from_child)) = (child.stdin.take(), child.stdout.take())
    else {
        eprintln!("portcullis-relay: the child's pipes are missing");
        return ExitCode::from(1);
    };
    let up = std::thread::spawn(move || {
        let _ = copy(&mut std::io::stdin().lock(), &mut to_child);
        // Dropping `to_child` closes the child's stdin: it exits.
    });
    let _ = copy(&mut from_child, &mut std::io::stdout().lock());
    let _ = child.kill();
    let _ = child.wait();
    drop(up);
    ExitCode::SUCCESS
}

/// Copies until end of input, writing each read in one call.
fn copy(from: &mut impl Read, to: &mut impl Write) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        to.write_all(&buf[..n])?;
        to.flush()?;
    }
}
