//! A client's MCP config file handed to the app (a launch with its path, see
//! [`crate::links`]): the app stages it and opens the import page on it; the
//! page shows the servers the file holds and imports them when the person
//! clicks. Only the staged file can be imported this way: the pages name no
//! path, so a page cannot make the app read a file of its choosing.

use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use serde::Serialize;
use tauri::{AppHandle, Manager};

use crate::error::{CommandError, ErrorKind};
use crate::state::Desktop;

/// The largest file staged: MCP configs are small; anything bigger is not one.
const MAX_FILE: u64 = 1024 * 1024;

/// The file a launch asked to import, if any (the last one wins), and how
/// many files were staged so far.
#[derive(Default)]
pub struct Staged(Mutex<(Option<PathBuf>, u64)>);

/// What the staged file would add.
#[derive(Debug, Clone, Serialize)]
pub struct ImportPreview {
    /// The file.
    pub path: String,
    /// The servers it holds, in its order.
    pub servers: Vec<ServerPreview>,
}

/// One server of the file.
#[derive(Debug, Clone, Serialize)]
pub struct ServerPreview {
    /// Its name, as Portcullis will call it.
    pub name: String,
    /// What it runs or where it connects: the command line or the URL.
    pub runs: String,
    /// Things to look at (a renamed server, `${...}` variables).
    pub warnings: Vec<String>,
}

/// Remembers `path` as the file to import; the import page then shows its
/// servers, or why it cannot be read (with a hint), where the person looks.
/// Returns the import page's route, new for each file (so a page already
/// showing an earlier file loads this one).
pub fn stage(app: &AppHandle, path: &Path) -> String {
    let staged = app.state::<Staged>();
    let mut staged = staged.0.lock();
    staged.0 = Some(path.to_path_buf());
    staged.1 += 1;
    tracing::info!("staged {} for import", path.display());
    format!("#/import?staged={}", staged.1)
}

/// The staged file's servers, read now.
pub fn preview(app: &AppHandle) -> Result<ImportPreview, CommandError> {
    let path = staged(app)?;
    check(&path)?;
    let servers = portcullis::config::import_servers(&path)?
        .into_iter()
        .map(|s| ServerPreview {
            runs: runs(&s.config),
            name: s.name,
            warnings: s.warnings,
        })
        .collect();
    Ok(ImportPreview {
        path: path.display().to_string(),
        servers,
    })
}

/// Imports the staged file's servers through the gateway (they start, and
/// their tools wait for approval); the file stays staged for another look.
pub async fn import(app: &AppHandle) -> Result<portcullis::ServersAdded, CommandError> {
    let path = staged(app)?;
    check(&path)?;
    let gw = app.state::<Desktop>().server()?.gateway().clone();
    let done = gw.import_file(&path).await?;
    tracing::info!(
        "imported from {}: {}",
        path.display(),
        done.added.join(", ")
    );
    crate::tray::refresh(app);
    Ok(done)
}

fn staged(app: &AppHandle) -> Result<PathBuf, CommandError> {
    let staged = app.state::<Staged>();
    let path = staged.0.lock().0.clone();
    path.ok_or_else(|| CommandError {
        kind: ErrorKind::NotFound,
        message: "no file to import was handed to the app".into(),
        hint: Some("open the file with Portcullis (portcullis-desktop /path/to/mcp.json), or run portcullis upstream import FILE".into()),
    })
}

/// A regular file of at most [`MAX_FILE`] bytes.
fn check(path: &Path) -> Result<(), CommandError> {
    let meta = std::fs::metadata(path).map_err(|e| CommandError {
        kind: ErrorKind::NotFound,
        message: format!("cannot read {}: {e}", path.display()),
        hint: Some(
            "check the path; a relative one is taken from the folder the app was launched in"
                .into(),
        ),
    })?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return Err(CommandError {
            kind: ErrorKind::Config,
            message: format!(
                "{} is not an MCP config file (not a file, or over 1 MiB)",
                path.display()
            ),
            hint: Some(
                "name a client's config, e.g. ~/.cursor/mcp.json or claude_desktop_config.json"
                    .into(),
            ),
        });
    }
    Ok(())
}

/// The command line or the URL of a server, for a person to recognise it.
fn runs(config: &portcullis::config::ServerConfig) -> String {
    if let Some(url) = &config.url {
        return url.clone();
    }
    let mut line = config.command.clone().unwrap_or_default();
    for arg in config.args.iter().flatten() {
        line.push(' ');
        line.push_str(arg);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_small_regular_file_is_staged() {
        let dir = std::env::temp_dir().join(format!("portcullis-import-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big = dir.join("big.json");
        std::fs::write(&big, vec![b' '; MAX_FILE as usize + 1]).unwrap();
        let small = dir.join("mcp.json");
        std::fs::write(&small, "{}").unwrap();
        assert!(check(&small).is_ok());
        let e = check(&big).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Config);
        assert!(e.hint.is_some());
        assert_eq!(check(&dir).unwrap_err().kind, ErrorKind::Config);
        assert_eq!(
            check(&dir.join("missing.json")).unwrap_err().kind,
            ErrorKind::NotFound
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_server_is_shown_by_its_command_line_or_its_url() {
        let stdio = portcullis::config::ServerConfig {
            command: Some("uvx".into()),
            args: Some(vec!["mcp-server-time".into(), "--local".into()]),
            ..Default::default()
        };
        assert_eq!(runs(&stdio), "uvx mcp-server-time --local");
        let remote = portcullis::config::ServerConfig {
            url: Some("http://127.0.0.1:3001/mcp".into()),
            ..Default::default()
        };
        assert_eq!(runs(&remote), "http://127.0.0.1:3001/mcp");
    }
}
