//! Writing the snippet into a client's config file, and taking it back.
//!
//! Each install leaves a small record in `<data dir>/clients/<client>.json`:
//! the file, its backup, and the hash of what Portcullis wrote. `undo` acts
//! only while the file still has that hash.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::client::Client;
use super::paths::Platform;
use super::snippet::{ClientSetup, ClientStatus, UndoInfo};
use super::target::Target;
use super::EditError;
use crate::store::UnixMillis;

/// What went wrong configuring a client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// No home folder is known, so the client's config cannot be found.
    #[error("cannot find the home folder, so not the {client} config either")]
    NoHome {
        /// The client's name.
        client: &'static str,
    },
    /// A file could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// "read", "write", ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The client's config is not a file Portcullis can read (it does not
    /// parse, or its servers are not where the client keeps them).
    #[error("{} is not {syntax} Portcullis can edit safely ({message}), so Portcullis leaves it alone", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Its syntax: JSON, TOML, YAML.
        syntax: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The edit would have changed more of the file than Portcullis's entry.
    #[error("Portcullis could not add its entry to {} without touching the rest ({message}); nothing was written", path.display())]
    EditUnsafe {
        /// The file.
        path: PathBuf,
        /// What the check found.
        message: String,
    },
    /// Portcullis has no install of this client to undo.
    #[error("Portcullis has not changed the {client} config, so there is nothing to undo")]
    NothingToUndo {
        /// The client's name.
        client: &'static str,
    },
    /// The undo record names another file than the client's config.
    #[error(transparent)]
    ForeignRecord(Box<ForeignRecord>),
    /// The file changed after Portcullis wrote it: restoring would lose that.
    #[error("{} changed after Portcullis wrote it, so undo would lose those changes", path.display())]
    ChangedSince {
        /// The file.
        path: PathBuf,
        /// Its backup, if there was a file before.
        backup: Option<PathBuf>,
    },
}

impl crate::hint::Hinted for ClientError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::NoHome { .. } => Some("set HOME".to_owned()),
            Self::Unreadable { .. } | Self::EditUnsafe { .. } => {
                Some("add the snippet to it by hand".to_owned())
            }
            Self::ForeignRecord(_) => Some(
                "remove that record if you did not write it; restore the file by hand if needed"
                    .to_owned(),
            ),
            Self::ChangedSince { backup, .. } => Some(match backup {
                Some(b) => format!(
                    "the file as it was before Portcullis is at {}: copy it back by hand if you want it",
                    b.display()
                ),
                None => "remove the `portcullis` entry by hand".to_owned(),
            }),
            _ => None,
        }
    }
}

/// An undo record that names a file other than this client's own config
/// (edited by hand, or by something else), so undo would touch a stranger's file.
#[derive(Debug, thiserror::Error)]
#[error("the record of the {client} install ({}) names {}, which is not the {client} config ({}), so undo leaves it alone", record.display(), named.display(), expected.display())]
pub struct ForeignRecord {
    /// The client's name.
    pub client: &'static str,
    /// The record file.
    pub record: PathBuf,
    /// What it names.
    pub named: PathBuf,
    /// The client's config path.
    pub expected: PathBuf,
}

/// What an install did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Installed {
    /// The client.
    pub client: Client,
    /// Its config file.
    pub path: PathBuf,
    /// Whether the file changed (false: it had exactly this entry already).
    pub changed: bool,
    /// The file as it was, when there was one and it changed.
    pub backup: Option<PathBuf>,
}

/// What an undo did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Undone {
    /// The client.
    pub client: Client,
    /// Its config file.
    pub path: PathBuf,
    /// The backup it was restored from; none when Portcullis had created the file, which is now removed.
    pub restored_from: Option<PathBuf>,
}

/// The record of the last install of a client.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    path: PathBuf,
    backup: Option<PathBuf>,
    written_sha256: String,
    installed_at: UnixMillis,
}

/// Where clients keep their configs, and where Portcullis keeps its records.
#[derive(Debug, Clone)]
pub struct ClientFiles {
    home: Option<PathBuf>,
    config_dir: Option<PathBuf>,
    records: PathBuf,
}

impl ClientFiles {
    /// The person's real client configs (`$HOME`, the per-user config
    /// folder); records under `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            home: dirs::home_dir(),
            config_dir: dirs::config_dir(),
            records: data_dir.join("clients"),
        }
    }

    /// Client configs under the given folders (for tests).
    pub fn with_dirs(home: &Path, config_dir: &Path, data_dir: &Path) -> Self {
        Self {
            home: Some(home.to_path_buf()),
            config_dir: Some(config_dir.to_path_buf()),
            records: data_dir.join("clients"),
        }
    }

    /// The home folder, which the UI shows as `~`.
    pub fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }

    /// A client's config file: the first of its files that exists, else
    /// the one Portcullis would create.
    pub fn path(&self, client: Client) -> Result<PathBuf, ClientError> {
        let (Some(home), Some(config)) = (&self.home, &self.config_dir) else {
            return Err(ClientError::NoHome {
                client: client.label(),
            });
        };
        let mut paths = client.config_paths(home, config, Platform::CURRENT);
        let last = paths.pop().ok_or(ClientError::NoHome {
            client: client.label(),
        })?;
        Ok(paths.into_iter().find(|p| p.exists()).unwrap_or(last))
    }

    /// Every client with its snippet and whether its config has it.
    pub fn setups(&self, target: &Target) -> Vec<ClientSetup> {
        Client::ALL
            .into_iter()
            .filter_map(|client| {
                let path = self.path(client).ok()?;
                let status = match read_text(&path) {
                    Ok(None) => ClientStatus::NoFile,
                    Ok(Some(text)) => match client.layout().current(&text) {
                        Ok(None) => ClientStatus::NotInstalled,
                        Ok(Some(entry))
                            if client.without_headers(&entry)
                                == client.without_headers(&client.entry(target)) =>
                        {
                            ClientStatus::Installed
                        }
                        Ok(Some(_)) => ClientStatus::Different,
                        Err(_) => ClientStatus::Unreadable,
                    },
                    Err(_) => ClientStatus::Unreadable,
                };
                let undo = self
                    .record(client)
                    .ok()
                    .flatten()
                    .filter(|r| r.path == path)
                    .map(|r| UndoInfo {
                        backup: r.backup,
                        installed_at: r.installed_at,
                    });
                Some(ClientSetup::new(client, target, path, status, undo))
            })
            .collect()
    }

    /// Writes the `portcullis` entry into the client's config, keeping a
    /// timestamped backup of the file as it was.
    pub fn install(&self, client: Client, target: &Target) -> Result<Installed, ClientError> {
        let path = self.path(client)?;
        let before = read_text(&path)?;
        let layout = client.layout();
        let edit_error = |e: EditError| match e {
            EditError::Unreadable(message) => ClientError::Unreadable {
                path: path.clone(),
                syntax: layout.syntax(),
                message,
            },
            EditError::Unverified(message) => ClientError::EditUnsafe {
                path: path.clone(),
                message,
            },
        };
        let entry = client.entry(target);
        if let Some(text) = &before {
            if layout.current(text).map_err(edit_error)? == Some(entry.clone()) {
                return Ok(Installed {
                    client,
                    path,
                    changed: false,
                    backup: None,
                });
            }
        }
        let text = layout
            .write(before.as_deref(), &entry)
            .map_err(edit_error)?;
        let backup = match &before {
            Some(_) => Some(backup(&path)?),
            None => None,
        };
        write_atomic(&path, text.as_bytes())?;
        let record = Record {
            path: path.clone(),
            backup: backup.clone(),
            written_sha256: sha256(text.as_bytes()),
            installed_at: UnixMillis::now(),
        };
        self.save_record(client, &record)?;
        Ok(Installed {
            client,
            path,
            changed: true,
            backup,
        })
    }

    /// Puts the client's config back as it was before the last install.
    pub fn undo(&self, client: Client) -> Result<Undone, ClientError> {
        let record = self.record(client)?.ok_or(ClientError::NothingToUndo {
            client: client.label(),
        })?;
        let expected = self.path(client)?;
        let backup_ok = record
            .backup
            .as_ref()
            .is_none_or(|b| is_backup_of(b, &expected));
        if record.path != expected || !backup_ok {
            let named = if record.path == expected {
                record.backup.clone().unwrap_or_default()
            } else {
                record.path.clone()
            };
            return Err(ClientError::ForeignRecord(Box::new(ForeignRecord {
                client: client.label(),
                record: self.record_path(client),
                named,
                expected,
            })));
        }
        let now = std::fs::read(&record.path).ok();
        let untouched = now.as_deref().map(sha256) == Some(record.written_sha256.clone());
        if !untouched {
            return Err(ClientError::ChangedSince {
                path: record.path,
                backup: record.backup,
            });
        }
        match &record.backup {
            Some(backup) => {
                let bytes = std::fs::read(backup).map_err(|source| ClientError::Io {
                    action: "read",
                    path: backup.clone(),
                    source,
                })?;
                write_atomic(&record.path, &bytes)?;
            }
            None => std::fs::remove_file(&record.path).map_err(|source| ClientError::Io {
                action: "remove",
                path: record.path.clone(),
                source,
            })?,
        }
        let file = self.record_path(client);
        std::fs::remove_file(&file).map_err(|source| ClientError::Io {
            action: "remove",
            path: file,
            source,
        })?;
        Ok(Undone {
            client,
            path: record.path,
            restored_from: record.backup,
        })
    }

    fn record_path(&self, client: Client) -> PathBuf {
        self.records.join(format!("{}.json", client.id()))
    }

    fn record(&self, client: Client) -> Result<Option<Record>, ClientError> {
        let path = self.record_path(client);
        match read_text(&path)? {
            None => Ok(None),
            Some(text) => {
                serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| ClientError::Unreadable {
                        path,
                        syntax: "JSON",
                        message: e.to_string(),
                    })
            }
        }
    }

    fn save_record(&self, client: Client, record: &Record) -> Result<(), ClientError> {
        let text = serde_json::to_string_pretty(record).unwrap_or_default();
        write_atomic(&self.record_path(client), text.as_bytes())
    }
}

fn read_text(path: &Path) -> Result<Option<String>, ClientError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ClientError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `backup` is one `backup` made of `path`: beside it, named after it.
fn is_backup_of(backup: &Path, path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    backup.parent() == path.parent()
        && backup.file_name().is_some_and(|b| {
            b.to_string_lossy()
                .starts_with(&format!("{name}.portcullis-backup-"))
        })
}

/// Copies `path` to `<name>.portcullis-backup-<UTC time>` beside it.
fn backup(path: &Path) -> Result<PathBuf, ClientError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stamp = utc_stamp(SystemTime::now());
    let mut candidate = path.with_file_name(format!("{name}.portcullis-backup-{stamp}"));
    let mut n = 2;
    while candidate.exists() {
        candidate = path.with_file_name(format!("{name}.portcullis-backup-{stamp}-{n}"));
        n += 1;
    }
    std::fs::copy(path, &candidate).map_err(|source| ClientError::Io {
        action: "back up",
        path: path.to_path_buf(),
        source,
    })?;
    Ok(candidate)
}

/// Writes through a temporary file and a rename, keeping the permissions of
/// the file it replaces (client configs may hold secrets); a config that is a
/// symbolic link (a dotfile manager's) is written at its target, so the link stays.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ClientError> {
    crate::config::private_files::write_atomic(path, bytes).map_err(|source| ClientError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

/// `20261123T101500Z`: sortable, and valid in every file system.
fn utc_stamp(t: SystemTime) -> String {
    let [year, month, day, h, m, sec] = crate::store::UnixMillis::from(t).utc();
    format!("{year:04}{month:02}{day:02}T{h:02}{m:02}{sec:02}Z")
}

#[cfg(test)]
#[path = "install_tests.rs"]
mod tests;
