//! A person's decisions about tools: approve, block.
//!
//! An approval names each tool with the hash of the definition the person
//! was shown ([`Reviewed`]); if the server lists another definition by now,
//! nothing is approved and the error names what changed, so a swap between
//! review and click never approves text nobody read. A block may name tools
//! or select them all (blocking is always safe). A name the server never
//! listed fails the whole decision, with the names it does list, so a typo
//! never approves half a selection. A definition with a high-severity
//! finding is approved only with the person's explicit confirmation
//! ([`HighFindings`]): the store enforces that rule (`review.rs`, for tools
//! here and other items in `items.rs`), whatever front end asked. Each decided tool
//! gets an activity row in the same transaction as the change. Approving a
//! tool of a server that waits for approval approves the server too, in the
//! same transaction: the one approval rule, whichever front end asked.

use std::collections::HashSet;

use rusqlite::{params, Transaction};

use crate::trust::{Actor, HighFindings, Reviewed, ServerState, ToolSelection, ToolState};

use super::activity::{Decision, DecisionAction};
use super::review::{self, Shown};
use super::servers::{get_server, set_state};
use super::tools::{
    drop_if_unreferenced, known_names, max_severity, named_rows, tool_rows, ToolRow,
};
use super::{Store, StoreError, ToolStatus, UnixMillis};

/// What an approval did.
#[derive(Debug, Clone)]
pub struct Approval {
    /// Each approved tool, with the state it had before.
    pub tools: Vec<ToolStatus>,
    /// The server's state after the approval.
    pub server_state: ServerState,
    /// Whether this approval also approved the server (it was pending).
    pub server_trusted: bool,
}

impl Store {
    /// Approves the definitions a person reviewed: each named tool of
    /// `server` becomes callable while the server is trusted and it keeps
    /// listing exactly the definition whose hash the person was shown. If
    /// any named tool lists another definition now, nothing is approved
    /// ([`StoreError::ChangedSinceShown`]); nor if any of them has a
    /// high-severity finding and `confirm` is not
    /// [`HighFindings::Confirmed`] ([`StoreError::HighSeverityUnconfirmed`]).
    /// Naming a blocked tool unblocks it.
    ///
    /// A server that waits for approval (`pending`) becomes trusted with
    /// its first approved tools; a blocked one stays blocked.
    ///
    /// Returns the status of each decided tool (`previous` is the state
    /// before the decision) and the server's state after it.
    pub fn approve_reviewed(
        &self,
        server: &str,
        reviewed: &[Reviewed],
        confirm: HighFindings,
        actor: Actor,
    ) -> Result<Approval, StoreError> {
        let listed: Vec<String> = reviewed.iter().map(|r| r.name.clone()).collect();
        let names = ToolSelection::Names(listed.clone());
        self.write(|tx| {
            let rows = named_rows(tx, server, &listed)?;
            let shown: Vec<Shown<'_>> = reviewed
                .iter()
                .map(|r| Shown {
                    name: r.name.clone(),
                    shown: &r.hash,
                    current: rows
                        .iter()
                        .find(|row| row.name == r.name)
                        .map(|row| row.current_hash.as_str()),
                })
                .collect();
            review::check(tx, server, &shown, confirm)?;
            let tools = decide(tx, server, &names, actor, ToolState::Approved)?;
            let before = get_server(tx, server)?.state;
            let server_trusted = before == ServerState::Pending;
            let server_state = if server_trusted {
                set_state(tx, server, ServerState::Trusted, actor)?.state
            } else {
                before
            };
            Ok(Approval {
                tools,
                server_state,
                server_trusted,
            })
        })
    }

    /// Approves the current definitions of the selected tools, whatever
    /// they are: for tests of the store's state machine only. Front ends
    /// approve what a person saw, with [`Store::approve_reviewed`].
    #[cfg(test)]
    pub(crate) fn approve_tools(
        &self,
        server: &str,
        selection: &ToolSelection,
        actor: Actor,
    ) -> Result<Vec<ToolStatus>, StoreError> {
        self.write(|tx| decide(tx, server, selection, actor, ToolState::Approved))
    }

    /// Blocks the selected tools of `server`: they are never callable, whatever
    /// their definition, until a person approves them by name.
    /// [`ToolSelection::All`] selects every listed tool not blocked yet.
    pub fn block_tools(
        &self,
        server: &str,
        selection: &ToolSelection,
        actor: Actor,
    ) -> Result<Vec<ToolStatus>, StoreError> {
        self.write(|tx| decide(tx, server, selection, actor, ToolState::Blocked))
    }
}

fn decide(
    tx: &Transaction<'_>,
    server: &str,
    selection: &ToolSelection,
    actor: Actor,
    target: ToolState,
) -> Result<Vec<ToolStatus>, StoreError> {
    get_server(tx, server)?;
    // A few named tools are read alone: the cost follows them, not the server's tool count.
    let rows = match selection {
        ToolSelection::All => tool_rows(tx, server)?,
        ToolSelection::Names(names) => named_rows(tx, server, names)?,
    };
    let selected = select(tx, server, &rows, selection, target)?;
    let now = UnixMillis::now();
    let (action, set_approved) = match target {
        ToolState::Approved => (DecisionAction::ApproveTool, true),
        _ => (DecisionAction::BlockTool, false),
    };
    let mut out = Vec::with_capacity(selected.len());
    for row in selected {
        tx.execute(
            "UPDATE tools SET state = ?3, updated_at = ?4,
                    approved_hash = CASE WHEN ?5 THEN current_hash ELSE approved_hash END
             WHERE server = ?1 AND name = ?2",
            params![server, row.name, target, now, set_approved],
        )?;
        Decision {
            actor,
            server,
            tool: Some(&row.name),
            action,
            from: row.state.as_str(),
            to: target.as_str(),
            hash: Some(&row.current_hash),
        }
        .log(tx, now)?;
        if set_approved {
            if let Some(old) = row
                .approved_hash
                .as_deref()
                .filter(|h| *h != row.current_hash)
            {
                drop_if_unreferenced(tx, old)?;
            }
        }
        out.push(ToolStatus {
            name: row.name.clone(),
            state: target,
            previous: Some(row.state),
            present: row.present,
            definition_changed: false,
            max_severity: max_severity(tx, &row.current_hash)?,
        });
    }
    Ok(out)
}

/// The rows a selection names, or an error listing the names that do not exist.
fn select<'a>(
    tx: &Transaction<'_>,
    server: &str,
    rows: &'a [ToolRow],
    selection: &ToolSelection,
    target: ToolState,
) -> Result<Vec<&'a ToolRow>, StoreError> {
    match selection {
        ToolSelection::All => Ok(rows
            .iter()
            .filter(|row| row.present)
            .filter(|row| match target {
                ToolState::Approved => matches!(row.state, ToolState::Pending | ToolState::Changed),
                _ => row.state != target,
            })
            .collect()),
        ToolSelection::Names(names) => {
            let mut seen = HashSet::new();
            let mut unknown = Vec::new();
            let mut selected = Vec::new();
            for name in names {
                if !seen.insert(name.as_str()) {
                    continue;
                }
                match rows.iter().find(|row| row.name == *name) {
                    Some(row) => selected.push(row),
                    None => unknown.push(name.clone()),
                }
            }
            if unknown.is_empty() {
                Ok(selected)
            } else {
                Err(StoreError::UnknownTools {
                    server: server.to_owned(),
                    unknown,
                    known: known_names(&tool_rows(tx, server)?),
                })
            }
        }
    }
}
