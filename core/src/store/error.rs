//! The one error type of the store, with what a person should do about it.

use std::path::PathBuf;

/// What went wrong in the trust store.
///
/// Messages name the server, tool or file involved; [`StoreError::hint`]
/// adds what a person can do about it, for the one place that prints errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The directory that should hold the database could not be created.
    #[error("cannot create the data directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// SQLite could not open or configure the database file.
    #[error("cannot open the trust store {}: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// The file was written by a newer Portcullis with a schema this one
    /// does not know.
    #[error(
        "the trust store {} has schema version {found}, newer than this Portcullis supports ({supported})",
        path.display()
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The schema version in the file.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
    /// A schema migration failed; the database is left at the previous version.
    #[error("upgrading the trust store {} to schema version {version} failed: {source}", path.display())]
    Migration {
        /// The database file.
        path: PathBuf,
        /// The version that could not be reached.
        version: usize,
        /// Why.
        source: rusqlite::Error,
    },
    /// No server of this name was ever registered.
    #[error("unknown server `{server}`; known servers: {}", list(known))]
    UnknownServer {
        /// The name asked for.
        server: String,
        /// The registered servers, sorted.
        known: Vec<String>,
    },
    /// A decision named tools the server never listed. Nothing was decided.
    #[error(
        "server `{server}` has no tool named {}; its tools are: {}",
        quoted(unknown),
        list(known)
    )]
    UnknownTools {
        /// The server.
        server: String,
        /// The names it does not have.
        unknown: Vec<String>,
        /// The tools it lists now, sorted.
        known: Vec<String>,
    },
    /// A decision named items (instructions, prompts, resources, templates)
    /// the server never offered. Nothing was decided.
    #[error("server `{server}` never offered {}", quoted(unknown))]
    UnknownItems {
        /// The server.
        server: String,
        /// The items asked for, as `kind:name`.
        unknown: Vec<String>,
    },
    /// An approval named definitions the server no longer lists: the
    /// person was shown something else than what would be approved.
    /// Nothing was decided.
    #[error(
        "{} of server `{server}` changed since you looked; nothing was approved",
        changed_names(changed)
    )]
    ChangedSinceShown {
        /// The server.
        server: String,
        /// Each tool whose definition differs from the one shown.
        changed: Vec<ChangedDefinition>,
    },
    /// An approval included definitions with high-severity findings and
    /// the person did not confirm them ([`crate::trust::HighFindings`]).
    /// Nothing was decided.
    #[error("{}; confirm to approve {} anyway; nothing was approved", held_text(held), if held.len() == 1 { "it" } else { "them" })]
    HighSeverityUnconfirmed {
        /// The server.
        server: String,
        /// Each definition held back, with the rules that found something
        /// high-severity in it.
        held: Vec<HighSeverityHeld>,
    },
    /// Any other SQLite failure (disk full, database locked for longer than
    /// the busy timeout, a value this build cannot read).
    #[error("trust store operation failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl crate::hint::Hinted for StoreError {
    fn hint(&self) -> Option<String> {
        match self {
            StoreError::CreateDir { .. } | StoreError::Open { .. } => Some(
                "check that the data directory exists and is writable by this user, \
                 or choose another one with PORTCULLIS_HOME"
                    .to_owned(),
            ),
            StoreError::TooNew { .. } => Some(
                "upgrade Portcullis, or point PORTCULLIS_HOME at another data directory".to_owned(),
            ),
            StoreError::Migration { .. } => Some(
                "the file was not changed; report this with the message above, \
                 and keep a copy of the file"
                    .to_owned(),
            ),
            StoreError::UnknownServer { server, .. } => Some(format!(
                "list servers with `portcullis upstream list`; add one with \
                 `portcullis upstream add --name {server} ...`"
            )),
            StoreError::UnknownTools { server, .. } => Some(format!(
                "list its tools with `portcullis tools list --server {server}`; \
                 names are the upstream's, without the `{server}__` prefix"
            )),
            StoreError::UnknownItems { .. } => Some(
                "`portcullis tools pending` lists the items that wait for approval".to_owned(),
            ),
            StoreError::ChangedSinceShown { server, .. } => Some(format!(
                "review the new definition (`portcullis tools pending` or the Approvals page), \
                 then approve what you read: `portcullis upstream approve --name {server} --tools NAME`"
            )),
            StoreError::HighSeverityUnconfirmed { server, held } => {
                let tools: Vec<&str> = held
                    .iter()
                    .map(|h| h.name.as_str())
                    .filter(|n| !n.contains(':'))
                    .collect();
                let how = if tools.len() == held.len() {
                    format!(
                        "run `portcullis upstream approve --name {server} --tools {} --yes`",
                        tools.join(",")
                    )
                } else {
                    "add --yes to `portcullis upstream approve`".to_owned()
                };
                Some(format!(
                    "read the findings first (`portcullis tools pending`, or the Approvals page); \
                     to approve anyway, {how}, or send \"confirm_high\": true with the approval"
                ))
            }
            StoreError::Sqlite(e) => match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                    Some(
                        "another Portcullis process is writing to the store; retry in a moment"
                            .to_owned(),
                    )
                }
                Some(rusqlite::ErrorCode::DiskFull) => {
                    Some("free disk space in the data directory, then retry".to_owned())
                }
                Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen) => {
                    Some("check the permissions of the data directory and its files".to_owned())
                }
                _ => None,
            },
        }
    }
}

/// A definition a person was shown, and the one the server lists now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChangedDefinition {
    /// The tool (or item) name.
    pub name: String,
    /// The hash the person was shown.
    pub shown: String,
    /// The hash of what the server lists now.
    pub current: String,
}

/// A definition an unconfirmed approval held back, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HighSeverityHeld {
    /// The tool name (or `kind:name` of an item).
    pub name: String,
    /// The rules with a high-severity finding in it, most first.
    pub rules: Vec<String>,
}

fn held_text(held: &[HighSeverityHeld]) -> String {
    match held {
        [h] if h.rules.len() == 1 => {
            format!("`{}` has a high-severity finding ({})", h.name, h.rules[0])
        }
        [h] => format!(
            "`{}` has high-severity findings ({})",
            h.name,
            h.rules.join(", ")
        ),
        _ => format!(
            "{} have high-severity findings",
            held.iter()
                .map(|h| format!("`{}` ({})", h.name, h.rules.join(", ")))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn changed_names(changed: &[ChangedDefinition]) -> String {
    let names: Vec<String> = changed.iter().map(|c| c.name.clone()).collect();
    match names.as_slice() {
        [one] => format!("the definition of `{one}`"),
        _ => format!("the definitions of {}", quoted(&names)),
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items.join(", ")
    }
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
