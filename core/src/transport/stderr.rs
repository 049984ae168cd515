//! An upstream's stderr: written to `logs/<server>.log`, bounded, with the
//! last lines kept in memory for error messages.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

const TAIL_LINES: usize = 20;
const MAX_LOG_BYTES: u64 = 1024 * 1024;
const MAX_LINE: usize = 4096;

/// The stderr log of one upstream.
pub struct StderrLog {
    path: PathBuf,
    inner: Mutex<Inner>,
}

struct Inner {
    tail: VecDeque<String>,
    file: Option<std::fs::File>,
    written: u64,
}

impl StderrLog {
    /// A log at `dir/<server>.log`; the folder is created when needed.
    pub fn new(dir: &Path, server: &str) -> Self {
        let path = dir.join(format!("{server}.log"));
        Self {
            path,
            inner: Mutex::new(Inner {
                tail: VecDeque::new(),
                file: None,
                written: 0,
            }),
        }
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line. When the file passes 1 MiB it moves to `.log.1`.
    pub fn push(&self, line: &str) {
        let mut line = super::printable(line.trim_end());
        if line.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push('…');
        }
        let mut inner = self.inner.lock();
        if inner.file.is_none() || inner.written > MAX_LOG_BYTES {
            if inner.written > MAX_LOG_BYTES {
                let _ = std::fs::rename(&self.path, self.path.with_extension("log.1"));
            }
            if let Some(dir) = self.path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            // Upstream output may hold secrets: owner only, also for logs from older versions.
            let _ = crate::config::private_files::restrict(&self.path);
            inner.file = crate::config::private_files::open_append(&self.path).ok();
            inner.written = inner
                .file
                .as_ref()
                .and_then(|f| f.metadata().ok())
                .map_or(0, |m| m.len());
        }
        if let Some(f) = inner.file.as_mut() {
            if writeln!(f, "{line}").is_ok() {
                inner.written += line.len() as u64 + 1;
            }
        }
        if inner.tail.len() == TAIL_LINES {
            inner.tail.pop_front();
        }
        inner.tail.push_back(line);
    }

    /// The last lines, oldest first.
    pub fn tail(&self) -> Vec<String> {
        self.inner.lock().tail.iter().cloned().collect()
    }

    /// Forgets the in-memory tail (at a restart, so errors quote the new run).
    pub fn clear_tail(&self) {
        self.inner.lock().tail.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_tail_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let log = StderrLog::new(dir.path(), "s");
        for i in 0..30 {
            log.push(&format!("line {i}\n"));
        }
        let tail = log.tail();
        assert_eq!(tail.len(), TAIL_LINES);
        assert_eq!(tail.last().unwrap(), "line 29");
        let big = "x".repeat(MAX_LINE);
        for _ in 0..300 {
            log.push(&big);
        }
        assert!(dir.path().join("s.log.1").exists());
        assert!(
            std::fs::metadata(log.path()).unwrap().len() <= MAX_LOG_BYTES + MAX_LINE as u64 * 2
        );
    }
}
