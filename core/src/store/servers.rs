//! Servers: how they became known and whether they may run.
//!
//! A server's first state follows its [`ServerOrigin`]; after that only a
//! person changes it ([`Store::set_server_state`]), and re-registering never
//! does, so an outside edit of the config file cannot re-trust a server.

use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;

use crate::trust::{Actor, ServerOrigin, ServerState};

use super::activity::{Decision, DecisionAction, Discovery, DiscoveryAction};
use super::{Store, StoreError, UnixMillis};

/// A server as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerInfo {
    /// Its name in the config file.
    pub name: String,
    /// Whether it may run.
    pub state: ServerState,
    /// How it first became known.
    pub origin: ServerOrigin,
    /// When it was first registered.
    pub added_at: UnixMillis,
    /// When its state last changed.
    pub updated_at: UnixMillis,
}

/// The result of [`Store::register_server`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerRegistration {
    /// The server, with its (possibly older) state.
    pub server: ServerInfo,
    /// Whether this call created it. When false, nothing was changed.
    pub created: bool,
}

impl Store {
    /// Records that a server exists. A new server starts in
    /// `origin.initial_state()` (a person's server is trusted, one from an
    /// outside edit of the config file is pending) and a discovery row is
    /// logged; an existing server keeps its state, whatever `origin` (a
    /// person's re-registration only forgets how it was launched, see
    /// [`Store::check_launch`]).
    pub fn register_server(
        &self,
        name: &str,
        origin: ServerOrigin,
    ) -> Result<ServerRegistration, StoreError> {
        self.write(|tx| {
            let now = UnixMillis::now();
            let state = origin.initial_state();
            let inserted = tx.execute(
                "INSERT INTO servers (name, state, origin, added_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT (name) DO NOTHING",
                params![name, state, origin, now],
            )?;
            let created = inserted == 1;
            if !created && origin == ServerOrigin::Person {
                // A person added it again (maybe running something else):
                // the next start records its launch afresh.
                tx.execute(
                    "UPDATE servers SET launch_hash = NULL WHERE name = ?1",
                    [name],
                )?;
            }
            if created {
                Discovery {
                    server: name,
                    tool: None,
                    action: DiscoveryAction::ServerAdded,
                    from: None,
                    to: Some(state.as_str()),
                    hash: None,
                    detail: Some(origin.as_str()),
                }
                .log(tx, now)?;
            }
            let server = get_server(tx, name)?;
            Ok(ServerRegistration { server, created })
        })
    }

    /// Sets a server's state by a person's decision, logging the decision in
    /// the same transaction. Returns the server as it now is.
    pub fn set_server_state(
        &self,
        name: &str,
        state: ServerState,
        actor: Actor,
    ) -> Result<ServerInfo, StoreError> {
        self.write(|tx| set_state(tx, name, state, actor))
    }

    /// Compares how a server is launched now (`launch_hash`: a fingerprint
    /// of its command, arguments, environment and directory, or URL and
    /// headers) with the fingerprint recorded before. The first one is
    /// recorded as is. A different one means the config file now runs
    /// something else under this name: a trusted server goes back to
    /// pending (a discovery row says so) until a person approves it again.
    /// Returns the server as it now is.
    pub fn check_launch(&self, name: &str, launch_hash: &str) -> Result<ServerInfo, StoreError> {
        self.write(|tx| {
            let before = get_server(tx, name)?;
            let known: Option<String> = tx.query_row(
                "SELECT launch_hash FROM servers WHERE name = ?1",
                [name],
                |row| row.get(0),
            )?;
            if known.as_deref() == Some(launch_hash) {
                return Ok(before);
            }
            let now = UnixMillis::now();
            tx.execute(
                "UPDATE servers SET launch_hash = ?2 WHERE name = ?1",
                params![name, launch_hash],
            )?;
            if known.is_some() && before.state == ServerState::Trusted {
                tx.execute(
                    "UPDATE servers SET state = ?2, updated_at = ?3 WHERE name = ?1",
                    params![name, ServerState::Pending, now],
                )?;
                Discovery {
                    server: name,
                    tool: None,
                    action: DiscoveryAction::ServerChanged,
                    from: Some(before.state.as_str()),
                    to: Some(ServerState::Pending.as_str()),
                    hash: Some(launch_hash),
                    detail: Some(ServerOrigin::ConfigFile.as_str()),
                }
                .log(tx, now)?;
            }
            get_server(tx, name)
        })
    }

    /// Moves the approval of `name` from launch fingerprint `old` to `new`,
    /// only if `old` is the one recorded: for a change Portcullis made
    /// itself that runs the same thing (a value moved to the keyring and
    /// referred to by name). Whether it moved.
    pub fn repin_launch(&self, name: &str, old: &str, new: &str) -> Result<bool, StoreError> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE servers SET launch_hash = ?3 WHERE name = ?1 AND launch_hash = ?2",
                params![name, old, new],
            )? > 0)
        })
    }

    /// Every registered server, by name.
    pub fn servers(&self) -> Result<Vec<ServerInfo>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT name, state, origin, added_at, updated_at FROM servers ORDER BY name",
            )?;
            let rows = stmt.query_map([], server_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// One server, or `None` if it was never registered.
    pub fn server(&self, name: &str) -> Result<Option<ServerInfo>, StoreError> {
        self.read(|tx| find_server(tx, name))
    }
}

fn server_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ServerInfo> {
    Ok(ServerInfo {
        name: row.get(0)?,
        state: row.get(1)?,
        origin: row.get(2)?,
        added_at: row.get(3)?,
        updated_at: row.get(4)?,
    })
}

fn find_server(tx: &Transaction<'_>, name: &str) -> Result<Option<ServerInfo>, StoreError> {
    Ok(tx
        .query_row(
            "SELECT name, state, origin, added_at, updated_at FROM servers WHERE name = ?1",
            [name],
            server_from_row,
        )
        .optional()?)
}

/// The server `name`, or an error listing the known servers.
/// Sets a server's state and logs the decision, in `tx`.
pub(super) fn set_state(
    tx: &Transaction<'_>,
    name: &str,
    state: ServerState,
    actor: Actor,
) -> Result<ServerInfo, StoreError> {
    let before = get_server(tx, name)?;
    let now = UnixMillis::now();
    tx.execute(
        "UPDATE servers SET state = ?2, updated_at = ?3 WHERE name = ?1",
        params![name, state, now],
    )?;
    Decision {
        actor,
        server: name,
        tool: None,
        action: DecisionAction::SetServerState,
        from: before.state.as_str(),
        to: state.as_str(),
        hash: None,
    }
    .log(tx, now)?;
    get_server(tx, name)
}

pub(super) fn get_server(tx: &Transaction<'_>, name: &str) -> Result<ServerInfo, StoreError> {
    match find_server(tx, name)? {
        Some(server) => Ok(server),
        None => {
            let mut stmt = tx.prepare("SELECT name FROM servers ORDER BY name")?;
            let known = stmt
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            Err(StoreError::UnknownServer {
                server: name.to_owned(),
                known,
            })
        }
    }
}
