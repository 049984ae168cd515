//! Notices edits to the config file while the gateway serves.
//!
//! It polls: editors replace files in many ways (rename over, truncate and
//! write, symlink swaps) and a poll of size, mtime and content sees them all
//! for the price of one `stat` a half-second.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{ConfigError, ConfigFile};

/// Polls one config file for changes.
pub struct ConfigWatcher {
    path: PathBuf,
    seen: Option<(SystemTime, u64)>,
    text: Option<String>,
    interval: Duration,
}

impl ConfigWatcher {
    /// Starts watching from the file as it is now.
    pub fn new(path: &Path) -> Self {
        let mut w = Self {
            path: path.to_path_buf(),
            seen: None,
            text: None,
            interval: Duration::from_millis(500),
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
    /// (an error when the new text does not parse).
    pub async fn next(&mut self) -> Result<ConfigFile, ConfigError> {
        loop {
            tokio::time::sleep(self.interval).await;
            let stat = self.stat();
            if stat == self.seen {
                continue;
            }
            self.seen = stat;
            let text = std::fs::read_to_string(&self.path).ok();
            if text == self.text {
                continue;
            }
            self.text = text.clone();
            return match text {
                Some(text) => ConfigFile::parse(&text, &self.path),
                None => Ok(ConfigFile::default()),
            };
        }
    }
}
