//! Notices edits to the config file while the gateway serves.
//!
//! It polls: editors replace files in many ways (rename over, truncate and
//! write, symlink swaps) and a poll of size, mtime and content sees them all
//! for the price of one `stat` a half-second.
//!
//! A change is applied only once it stays readable: the text is read again
//! after a short pause and must be the same. A file that is missing or empty
//! (nothing but whitespace) is never applied while serving: editors pass
//! through both states for a moment while they save, and applying one would
//! stop every server. A person who really wants no servers leaves a comment
//! in the file (`# no servers`), which is not empty.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{ConfigError, ConfigFile};

/// How long a changed text must stay the same before it is used.
const SETTLE: Duration = Duration::from_millis(150);

/// Polls one config file for changes.
pub struct ConfigWatcher {
    path: PathBuf,
    seen: Option<(SystemTime, u64)>,
    text: Option<String>,
    interval: Duration,
    /// Whether the last missing or empty file was reported already.
    reported_empty: bool,
}

impl ConfigWatcher {
    /// Starts watching from the file as it is now.
    pub fn new(path: &Path) -> Self {
        let mut w = Self {
            path: path.to_path_buf(),
            seen: None,
            text: None,
            interval: Duration::from_millis(500),
            reported_empty: false,
        };
        w.seen = w.stat();
        w.text = std::fs::read_to_string(path).ok();
        w
    }

    fn stat(&self) -> Option<(SystemTime, u64)> {
        let m = std::fs::metadata(&self.path).ok()?;
        Some((m.modified().ok()?, m.len()))
    }

    /// Waits until the file's content changes and returns the parsed result
    /// (an error when the new text does not parse). Missing or empty files
    /// are passed over (see the module notes).
    pub async fn next(&mut self) -> Result<ConfigFile, ConfigError> {
        loop {
            tokio::time::sleep(self.interval).await;
            let stat = self.stat();
            if stat == self.seen {
                continue;
            }
            let text = std::fs::read_to_string(&self.path).ok();
            if text != self.text {
                // Still being written? The same text a moment later, or look again.
                tokio::time::sleep(SETTLE).await;
                if std::fs::read_to_string(&self.path).ok() != text {
                    continue;
                }
            }
            self.seen = stat;
            if let Some(result) = self.judge(text) {
                return result;
            }
        }
    }

    /// What a newly read text means: `None` when there is nothing to apply
    /// (unchanged, missing or empty).
    fn judge(&mut self, text: Option<String>) -> Option<Result<ConfigFile, ConfigError>> {
        if text == self.text {
            return None;
        }
        match text {
            Some(t) if !t.trim().is_empty() => {
                self.reported_empty = false;
                let parsed = ConfigFile::parse(&t, &self.path);
                self.text = Some(t);
                Some(parsed)
            }
            _ => {
                if !self.reported_empty {
                    self.reported_empty = true;
                    tracing::warn!(
                        "{} is missing or empty; keeping the last configuration (to remove every server, leave a comment in the file)",
                        self.path.display()
                    );
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_file_is_not_applied_and_the_next_real_text_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[servers.a]\ncommand = \"x\"\n").unwrap();
        let mut w = ConfigWatcher::new(&path);
        assert!(w
            .judge(Some("[servers.a]\ncommand = \"x\"\n".into()))
            .is_none());
        assert!(w.judge(None).is_none(), "a missing file is passed over");
        assert!(w.judge(Some(String::new())).is_none(), "an empty one too");
        assert!(w.judge(Some(" \n\t\n".into())).is_none());
        // Back as it was: nothing to do.
        assert!(w
            .judge(Some("[servers.a]\ncommand = \"x\"\n".into()))
            .is_none());
        let emptied = w.judge(Some("# no servers\n".into())).unwrap().unwrap();
        assert!(emptied.servers.is_empty(), "a comment empties it for real");
        let next = w
            .judge(Some("[servers.b]\ncommand = \"y\"\n".into()))
            .unwrap()
            .unwrap();
        assert!(next.servers.contains_key("b"));
    }
}
