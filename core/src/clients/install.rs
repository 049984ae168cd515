//! Writing the snippet into a client's config file, and taking it back.
//!
//! Each install leaves a small record in `<data dir>/clients/<client>.json`:
//! the file, its backup, and the hash of what Portcullis wrote. `undo` acts
//! only while the file still has that hash.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::snippet::{Client, ClientSetup, ClientStatus, Target, UndoInfo};
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
    /// The client's config is not JSON that Portcullis can edit safely.
    #[error("{} is not plain JSON ({message}), so Portcullis leaves it alone", path.display())]
    NotJson {
        /// The file.
        path: PathBuf,
        /// What the parser said.
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
            Self::NotJson { .. } => Some("add the snippet to it by hand".to_owned()),
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

    /// A client's config file.
    pub fn path(&self, client: Client) -> Result<PathBuf, ClientError> {
        match (&self.home, &self.config_dir) {
            (Some(home), Some(config)) => Ok(client.config_path(home, config)),
            _ => Err(ClientError::NoHome {
                client: client.label(),
            }),
        }
    }

    /// Every client with its snippet and whether its config has it.
    pub fn setups(&self, target: &Target) -> Vec<ClientSetup> {
        Client::ALL
            .into_iter()
            .filter_map(|client| {
                let path = self.path(client).ok()?;
                let status = match read_json(&path) {
                    Ok(None) => ClientStatus::NoFile,
                    Ok(Some(doc)) => {
                        match doc.get(client.key()).and_then(|s| s.get("portcullis")) {
                            None => ClientStatus::NotInstalled,
                            Some(entry) if *entry == client.entry(target) => {
                                ClientStatus::Installed
                            }
                            Some(_) => ClientStatus::Different,
                        }
                    }
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
        let mut doc = match &before {
            Some(text) => parse(&path, text)?,
            None => Map::new(),
        };
        let servers = doc
            .entry(client.key())
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(servers) = servers.as_object_mut() else {
            return Err(ClientError::NotJson {
                path,
                message: format!("`{}` is not an object", client.key()),
            });
        };
        let entry = client.entry(target);
        if servers.get("portcullis") == Some(&entry) {
            return Ok(Installed {
                client,
                path,
                changed: false,
                backup: None,
            });
        }
        servers.insert("portcullis".into(), entry);
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
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
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| ClientError::NotJson {
                    path,
                    message: e.to_string(),
                }),
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

/// The file's JSON object; an empty file is an empty object.
fn parse(path: &Path, text: &str) -> Result<Map<String, Value>, ClientError> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ClientError::NotJson {
            path: path.to_path_buf(),
            message: "it is not a JSON object".into(),
        }),
        Err(e) => Err(ClientError::NotJson {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
    }
}

fn read_json(path: &Path) -> Result<Option<Map<String, Value>>, ClientError> {
    read_text(path)?.map(|text| parse(path, &text)).transpose()
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
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, ClientFiles, Target) {
        let dir = tempfile::tempdir().unwrap();
        let files = ClientFiles::with_dirs(
            &dir.path().join("home"),
            &dir.path().join("config"),
            &dir.path().join("data"),
        );
        let target = Target {
            mcp_url: "http://127.0.0.1:7331/mcp".into(),
            exe: "/opt/portcullis".into(),
            home: None,
        };
        (dir, files, target)
    }

    #[test]
    fn stamps() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_428_900);
        assert_eq!(utc_stamp(t), "20261123T101500Z");
        assert_eq!(utc_stamp(SystemTime::UNIX_EPOCH), "19700101T000000Z");
    }

    #[test]
    fn installs_into_an_existing_file_keeping_the_rest_and_undoes() {
        let (_dir, files, target) = setup();
        let path = files.path(Client::Cursor).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let original = "{\n  \"mcpServers\": {\n    \"zeta\": {\"command\": \"z\"},\n    \"alpha\": {\"url\": \"http://x\"}\n  },\n  \"other\": 1\n}\n";
        std::fs::write(&path, original).unwrap();
        assert_eq!(files.setups(&target)[1].status, ClientStatus::NotInstalled);

        let done = files.install(Client::Cursor, &target).unwrap();
        assert!(done.changed);
        let backup = done.backup.clone().unwrap();
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), original);
        assert!(backup
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("mcp.json.portcullis-backup-"));
        let now: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let keys: Vec<_> = now["mcpServers"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["zeta", "alpha", "portcullis"]);
        assert_eq!(
            now["mcpServers"]["portcullis"],
            serde_json::json!({ "url": "http://127.0.0.1:7331/mcp" })
        );
        assert_eq!(now["other"], 1);
        let setup = &files.setups(&target)[1];
        assert_eq!(setup.status, ClientStatus::Installed);
        assert_eq!(setup.undo.as_ref().unwrap().backup.as_ref(), Some(&backup));

        // Again: nothing to change, no second backup, and undo still goes back to the original.
        assert!(!files.install(Client::Cursor, &target).unwrap().changed);
        let undone = files.undo(Client::Cursor).unwrap();
        assert_eq!(undone.restored_from, Some(backup));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
        assert!(matches!(
            files.undo(Client::Cursor),
            Err(ClientError::NothingToUndo { .. })
        ));
    }

    #[test]
    fn a_file_it_created_is_removed_by_undo() {
        let (_dir, files, target) = setup();
        let done = files.install(Client::VsCode, &target).unwrap();
        assert!(done.backup.is_none());
        let text = std::fs::read_to_string(&done.path).unwrap();
        assert_eq!(text, "{\n  \"servers\": {\n    \"portcullis\": {\n      \"type\": \"http\",\n      \"url\": \"http://127.0.0.1:7331/mcp\"\n    }\n  }\n}\n");
        files.undo(Client::VsCode).unwrap();
        assert!(!done.path.exists());
    }

    #[test]
    fn undo_refuses_to_lose_a_later_edit() {
        let (_dir, files, target) = setup();
        let path = files.path(Client::ClaudeDesktop).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{}").unwrap();
        files.install(Client::ClaudeDesktop, &target).unwrap();
        std::fs::write(&path, "{\"edited\": true}").unwrap();
        let err = crate::hint::with_hint(&files.undo(Client::ClaudeDesktop).unwrap_err());
        assert!(
            err.contains("changed after Portcullis wrote it") && err.contains("portcullis-backup-"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"edited\": true}"
        );
    }

    #[test]
    fn each_client_gets_its_own_entry_in_its_own_file_and_the_rest_stays() {
        let (dir, files, target) = setup();
        let url = "http://127.0.0.1:7331/mcp";
        for (client, file, entry) in [
            (
                Client::ClaudeCode,
                ".claude.json",
                serde_json::json!({ "type": "http", "url": url }),
            ),
            (
                Client::Windsurf,
                ".codeium/windsurf/mcp_config.json",
                serde_json::json!({ "serverUrl": url }),
            ),
            (
                Client::GeminiCli,
                ".gemini/settings.json",
                serde_json::json!({ "httpUrl": url }),
            ),
            (
                Client::LmStudio,
                ".lmstudio/mcp.json",
                serde_json::json!({ "url": url }),
            ),
        ] {
            let path = files.path(client).unwrap();
            assert_eq!(path, dir.path().join("home").join(file));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(
                &path,
                r#"{"theme": "dark", "mcpServers": {"mine": {"command": "m"}}}"#,
            )
            .unwrap();
            files.install(client, &target).unwrap();
            let now: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert_eq!(now["mcpServers"]["portcullis"], entry, "{}", client.label());
            assert_eq!(now["mcpServers"]["mine"]["command"], "m");
            assert_eq!(now["theme"], "dark");
            let setup = files
                .setups(&target)
                .into_iter()
                .find(|s| s.client == client)
                .unwrap();
            assert_eq!(setup.status, ClientStatus::Installed, "{}", client.label());
            assert_eq!(Client::parse(client.id()), Some(client));
        }
    }

    #[test]
    fn a_symlinked_config_is_edited_at_its_target() {
        let (dir, files, target) = setup();
        let path = files.path(Client::Cursor).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let real = dir.path().join("dotfiles-mcp.json");
        std::fs::write(&real, "{\"mcpServers\": {}}").unwrap();
        std::os::unix::fs::symlink(&real, &path).unwrap();
        files.install(Client::Cursor, &target).unwrap();
        assert!(std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(std::fs::read_to_string(&real)
            .unwrap()
            .contains("portcullis"));
        files.undo(Client::Cursor).unwrap();
        assert!(std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(!std::fs::read_to_string(&real)
            .unwrap()
            .contains("portcullis"));
    }

    #[test]
    fn undo_touches_only_the_clients_own_config() {
        let (dir, files, target) = setup();
        files.install(Client::VsCode, &target).unwrap();
        let victim = dir.path().join("precious.txt");
        std::fs::write(&victim, "keep me").unwrap();
        // Someone rewrites the record to name another file (with a matching hash).
        let record_path = files.record_path(Client::VsCode);
        let mut record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&record_path).unwrap()).unwrap();
        record["path"] = serde_json::json!(victim);
        record["written_sha256"] = serde_json::json!(sha256(b"keep me"));
        std::fs::write(&record_path, record.to_string()).unwrap();
        let err = files.undo(Client::VsCode).unwrap_err().to_string();
        assert!(
            err.contains("not the VS Code config") || err.contains("not the"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    }

    #[test]
    fn files_it_cannot_read_are_left_alone() {
        let (_dir, files, target) = setup();
        let path = files.path(Client::VsCode).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let jsonc = "{\n  // my servers\n  \"servers\": {}\n}\n";
        std::fs::write(&path, jsonc).unwrap();
        assert_eq!(files.setups(&target)[2].status, ClientStatus::Unreadable);
        let err = crate::hint::with_hint(&files.install(Client::VsCode, &target).unwrap_err());
        assert!(
            err.contains("not plain JSON") && err.contains("hint: add the snippet to it by hand"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), jsonc);
    }
}
