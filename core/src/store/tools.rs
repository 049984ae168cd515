//! Tools: what each upstream lists, and whether a call may go through.
//!
//! [`Store::observe_tools`] records a server's current listing and moves
//! each tool through its states; [`Store::is_callable`] is the one check the
//! gateway makes before forwarding a call. A tool is callable only while its
//! server is trusted and the definition it lists now hashes to the definition
//! a person approved.

use std::collections::{HashMap, HashSet};

use rusqlite::types::Type;
use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;
use serde_json::Value;

use crate::trust::{
    canonical_json, definition_hash, hashed_definition, rule_id, Callability, Catalogue,
    CatalogueTool, Finding, ServerState, Severity, Span, ToolState,
};

use super::activity::{Discovery, DiscoveryAction};
use super::servers::get_server;
use super::{Store, StoreError, UnixMillis};

/// A tool's state after [`Store::observe_tools`] or a decision, and how it
/// moved, so the gateway can announce what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolStatus {
    /// The tool's upstream name.
    pub name: String,
    /// Its state now.
    pub state: ToolState,
    /// Its state before the call; `None` for a tool seen for the first time.
    pub previous: Option<ToolState>,
    /// Whether the server lists it now. In the result of
    /// [`Store::observe_tools`], `false` marks a tool that vanished in that
    /// listing (tools that were already gone are not repeated).
    pub present: bool,
    /// Whether the listed definition differs from the one listed before.
    pub definition_changed: bool,
    /// The most severe scanner finding on the current definition.
    pub max_severity: Option<Severity>,
}

impl ToolStatus {
    /// Whether the tool was seen for the first time.
    pub fn is_new(&self) -> bool {
        self.previous.is_none()
    }

    /// Whether its state differs from before (a new tool counts as changed).
    pub fn state_changed(&self) -> bool {
        self.previous != Some(self.state)
    }
}

/// A tool as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolInfo {
    /// Its server.
    pub server: String,
    /// Its upstream name.
    pub name: String,
    /// Its state.
    pub state: ToolState,
    /// Whether the server lists it now.
    pub present: bool,
    /// The description of the current definition.
    pub description: Option<String>,
    /// The hash of the current definition.
    pub current_hash: String,
    /// The hash of the approved definition, if it was ever approved.
    pub approved_hash: Option<String>,
    /// How many scanner findings the current definition has.
    pub findings: usize,
    /// The most severe of them.
    pub max_severity: Option<Severity>,
    /// When it was first listed.
    pub first_seen: UnixMillis,
    /// When it was last listed.
    pub last_seen: UnixMillis,
}

/// A tool waiting for a person: pending or changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingTool {
    /// Its server.
    pub server: String,
    /// Its server's state (tools of a pending server need the server
    /// approved too).
    pub server_state: ServerState,
    /// Its upstream name.
    pub name: String,
    /// [`ToolState::Pending`] or [`ToolState::Changed`].
    pub state: ToolState,
    /// The hash of the current definition: what an approval of it names.
    pub hash: String,
    /// The description of the current definition.
    pub description: Option<String>,
    /// The current definition (the hashed fields).
    pub definition: Value,
    /// For a changed tool, the definition that was approved.
    pub approved: Option<Value>,
    /// The scanner's findings on the current definition, most severe first.
    pub findings: Vec<Finding>,
    /// When it was first listed.
    pub first_seen: UnixMillis,
}

/// The approved and current definitions of a changed tool, side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolDiff {
    /// What a person approved.
    pub approved: Value,
    /// What the server lists now.
    pub current: Value,
}

/// A row of `tools`, as decisions and listings need it.
#[derive(Debug, Clone)]
pub(super) struct ToolRow {
    pub(super) name: String,
    pub(super) state: ToolState,
    pub(super) present: bool,
    pub(super) current_hash: String,
    pub(super) approved_hash: Option<String>,
}

/// Every tool row of `server`, by name.
pub(super) fn tool_rows(tx: &Transaction<'_>, server: &str) -> Result<Vec<ToolRow>, StoreError> {
    let mut stmt = tx.prepare(
        "SELECT name, state, present, current_hash, approved_hash
         FROM tools WHERE server = ?1 ORDER BY name",
    )?;
    let rows = stmt.query_map([server], tool_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A [`ToolRow`] from `SELECT name, state, present, current_hash, approved_hash`.
fn tool_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ToolRow> {
    Ok(ToolRow {
        name: row.get(0)?,
        state: row.get(1)?,
        present: row.get(2)?,
        current_hash: row.get(3)?,
        approved_hash: row.get(4)?,
    })
}

/// The rows of the named tools of `server` (each name once, in the order
/// given; names the store does not know are left out): a decision on a few
/// tools reads those, whatever the server's tool count.
pub(super) fn named_rows(
    tx: &Transaction<'_>,
    server: &str,
    names: &[String],
) -> Result<Vec<ToolRow>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT name, state, present, current_hash, approved_hash
         FROM tools WHERE server = ?1 AND name = ?2",
    )?;
    let mut seen = HashSet::new();
    let mut rows = Vec::with_capacity(names.len());
    for name in names.iter().filter(|n| seen.insert(n.as_str())) {
        let row = stmt.query_row(params![server, name], tool_row).optional()?;
        rows.extend(row);
    }
    Ok(rows)
}

/// The state a tool moves to when its server lists the definition `hash`.
fn next_state(old: ToolState, hash: &str, approved: Option<&str>) -> ToolState {
    match old {
        ToolState::Pending => ToolState::Pending,
        ToolState::Blocked => ToolState::Blocked,
        // A changed tool whose upstream reverted to the approved definition
        // is the approved tool again: the hash is all that approval covers.
        ToolState::Approved | ToolState::Changed if approved == Some(hash) => ToolState::Approved,
        ToolState::Approved | ToolState::Changed => ToolState::Changed,
    }
}

impl Store {
    /// Records what `server` lists now (its `tools/list` result, all pages).
    ///
    /// A new tool is pending; an approved tool listed with another definition
    /// becomes changed (the approved definition is kept for
    /// [`Store::tool_diff`]) and is approved again if the upstream reverts;
    /// pending and blocked tools keep their state; a tool no longer listed is
    /// marked absent, not deleted. Each definition's findings are stored: a
    /// definition this scanner ([`crate::trust::Scanner::fingerprint`]) has
    /// not scanned before is scanned, one it has keeps its findings and only
    /// has the catalogue check done again (the rules are not compiled for
    /// it). Tools without a string `name` are skipped, and of duplicate names
    /// the first is kept.
    ///
    /// Returns the status of each listed tool in listing order, then of each
    /// tool that vanished in this listing.
    pub fn observe_tools(
        &self,
        server: &str,
        tools: &[Value],
    ) -> Result<Vec<ToolStatus>, StoreError> {
        let mut seen = Vec::with_capacity(tools.len());
        let mut names = HashSet::new();
        for tool in tools {
            let Some(name) = tool.get("name").and_then(Value::as_str) else {
                tracing::warn!(server, "ignoring a listed tool without a string name");
                continue;
            };
            if !names.insert(name) {
                tracing::warn!(
                    server,
                    tool = name,
                    "ignoring a duplicate tool name in the listing"
                );
                continue;
            }
            seen.push((name, definition_hash(tool), hashed_definition(tool)));
        }
        let scanned_by = self.scanner.fingerprint();
        // Other servers' approved tools, so a near copy of one is reported,
        // and what this scanner found before in the definitions listed now.
        let (catalogue, mut earlier) = self.read(|tx| {
            let hashes = seen.iter().map(|(_, hash, _)| hash.as_str());
            Ok((
                approved_catalogue(tx, server)?,
                scanned_before(tx, hashes, &scanned_by)?,
            ))
        })?;
        // Scan outside the lock: it is the slow part. The rules are compiled
        // only if a definition is new to this scanner, and freed after.
        let mut session = None;
        let mut listed = Vec::with_capacity(seen.len());
        for (name, hash, definition) in seen {
            let findings = match earlier.remove(&hash) {
                Some(found) => {
                    self.scanner
                        .recheck_in_catalogue(server, &definition, &catalogue, found)
                }
                None => session
                    .get_or_insert_with(|| self.scanner.session())
                    .scan_in_catalogue(server, &definition, &catalogue),
            };
            listed.push((name, hash, canonical_json(&definition), findings));
        }
        drop(session);

        self.write(|tx| {
            get_server(tx, server)?;
            let now = UnixMillis::now();
            let existing: HashMap<String, ToolRow> = tool_rows(tx, server)?
                .into_iter()
                .map(|row| (row.name.clone(), row))
                .collect();
            let mut out = Vec::with_capacity(listed.len());
            let mut replaced = Vec::new();

            for (name, hash, definition, findings) in &listed {
                save_definition(tx, hash, definition, findings, &scanned_by, now)?;
                let max_severity = findings.iter().map(|f| f.severity).max();
                let Some(old) = existing.get(*name) else {
                    tx.execute(
                        "INSERT INTO tools (server, name, state, present, current_hash,
                                            approved_hash, first_seen, last_seen, updated_at)
                         VALUES (?1, ?2, ?3, 1, ?4, NULL, ?5, ?5, ?5)",
                        params![server, name, ToolState::Pending, hash, now],
                    )?;
                    discovery(
                        server,
                        name,
                        DiscoveryAction::ToolAdded,
                        None,
                        ToolState::Pending,
                        hash,
                    )
                    .log(tx, now)?;
                    out.push(ToolStatus {
                        name: (*name).to_owned(),
                        state: ToolState::Pending,
                        previous: None,
                        present: true,
                        definition_changed: false,
                        max_severity,
                    });
                    continue;
                };
                let state = next_state(old.state, hash, old.approved_hash.as_deref());
                let definition_changed = old.current_hash != *hash;
                let touched = definition_changed || state != old.state || !old.present;
                tx.execute(
                    "UPDATE tools SET state = ?3, present = 1, current_hash = ?4, last_seen = ?5,
                                      updated_at = CASE WHEN ?6 THEN ?5 ELSE updated_at END
                     WHERE server = ?1 AND name = ?2",
                    params![server, name, state, hash, now, touched],
                )?;
                if definition_changed {
                    replaced.push(old.current_hash.clone());
                    discovery(
                        server,
                        name,
                        DiscoveryAction::ToolChanged,
                        Some(old.state),
                        state,
                        hash,
                    )
                    .log(tx, now)?;
                } else if !old.present {
                    discovery(
                        server,
                        name,
                        DiscoveryAction::ToolReturned,
                        Some(old.state),
                        state,
                        hash,
                    )
                    .log(tx, now)?;
                }
                out.push(ToolStatus {
                    name: (*name).to_owned(),
                    state,
                    previous: Some(old.state),
                    present: true,
                    definition_changed,
                    max_severity,
                });
            }

            let mut vanished: Vec<&ToolRow> = existing
                .values()
                .filter(|row| row.present && !names.contains(row.name.as_str()))
                .collect();
            vanished.sort_by(|a, b| a.name.cmp(&b.name));
            for row in vanished {
                tx.execute(
                    "UPDATE tools SET present = 0, updated_at = ?3 WHERE server = ?1 AND name = ?2",
                    params![server, row.name, now],
                )?;
                discovery(
                    server,
                    &row.name,
                    DiscoveryAction::ToolRemoved,
                    Some(row.state),
                    row.state,
                    &row.current_hash,
                )
                .log(tx, now)?;
                out.push(ToolStatus {
                    name: row.name.clone(),
                    state: row.state,
                    previous: Some(row.state),
                    present: false,
                    definition_changed: false,
                    max_severity: max_severity(tx, &row.current_hash)?,
                });
            }

            for hash in replaced {
                drop_if_unreferenced(tx, &hash)?;
            }
            Ok(out)
        })
    }

    /// Whether a call to `tool` of `server` may go through, and if not, why
    /// (see [`Callability::explain`] for a sentence to show).
    pub fn is_callable(&self, server: &str, tool: &str) -> Result<Callability, StoreError> {
        self.read(|tx| {
            let row = tx
                .query_row(
                    "SELECT s.state, t.state, t.present, t.current_hash = t.approved_hash
                     FROM servers s LEFT JOIN tools t ON t.server = s.name AND t.name = ?2
                     WHERE s.name = ?1",
                    params![server, tool],
                    |row| {
                        Ok((
                            row.get::<_, ServerState>(0)?,
                            row.get::<_, Option<ToolState>>(1)?,
                            row.get::<_, Option<bool>>(2)?,
                            row.get::<_, Option<bool>>(3)?,
                        ))
                    },
                )
                .optional()?;
            Ok(match row {
                None => Callability::UnknownServer,
                Some((ServerState::Pending, ..)) => Callability::ServerPending,
                Some((ServerState::Blocked, ..)) => Callability::ServerBlocked,
                Some((ServerState::Trusted, None, ..)) => Callability::UnknownTool,
                Some((_, Some(ToolState::Blocked), ..)) => Callability::ToolBlocked,
                Some((_, Some(ToolState::Pending), ..)) => Callability::ToolPending,
                Some((_, Some(ToolState::Changed), ..)) => Callability::ToolChanged,
                Some((_, Some(ToolState::Approved), present, same_hash)) => {
                    if same_hash != Some(true) {
                        Callability::ToolChanged
                    } else if present != Some(true) {
                        Callability::ToolAbsent
                    } else {
                        Callability::Callable
                    }
                }
            })
        })
    }

    /// Every tool the store knows for `server` (listed now or not), by name.
    pub fn tools(&self, server: &str) -> Result<Vec<ToolInfo>, StoreError> {
        self.read(|tx| {
            get_server(tx, server)?;
            let mut stmt = tx.prepare(
                "SELECT t.name, t.state, t.present, t.current_hash, t.approved_hash,
                        t.first_seen, t.last_seen, d.definition
                 FROM tools t JOIN definitions d ON d.hash = t.current_hash
                 WHERE t.server = ?1 ORDER BY t.name",
            )?;
            let rows = stmt
                .query_map([server], |row| {
                    Ok((
                        ToolInfo {
                            server: server.to_owned(),
                            name: row.get(0)?,
                            state: row.get(1)?,
                            present: row.get(2)?,
                            description: None,
                            current_hash: row.get(3)?,
                            approved_hash: row.get(4)?,
                            findings: 0,
                            max_severity: None,
                            first_seen: row.get(5)?,
                            last_seen: row.get(6)?,
                        },
                        row.get::<_, String>(7)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for (mut info, definition) in rows {
                info.description = description(&parse_json(&definition)?);
                let findings = load_findings(tx, &info.current_hash)?;
                info.findings = findings.len();
                info.max_severity = findings.iter().map(|f| f.severity).max();
                out.push(info);
            }
            Ok(out)
        })
    }

    /// Every listed tool waiting for a person (pending or changed), by
    /// server and name, with its definition and findings.
    pub fn pending_tools(&self) -> Result<Vec<PendingTool>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT t.server, s.state, t.name, t.state, t.current_hash, t.first_seen,
                        d.definition, a.definition
                 FROM tools t
                 JOIN servers s ON s.name = t.server
                 JOIN definitions d ON d.hash = t.current_hash
                 LEFT JOIN definitions a ON a.hash = t.approved_hash
                 WHERE t.present = 1 AND t.state IN ('pending', 'changed')
                 ORDER BY t.server, t.name",
            )?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, ServerState>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, ToolState>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, UnixMillis>(5)?,
                        row.get::<_, String>(6)?,
                        row.get::<_, Option<String>>(7)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for (server, server_state, name, state, hash, first_seen, current, approved) in rows {
                let definition = parse_json(&current)?;
                let approved = match (state, approved) {
                    (ToolState::Changed, Some(text)) => Some(parse_json(&text)?),
                    _ => None,
                };
                out.push(PendingTool {
                    server,
                    server_state,
                    name,
                    state,
                    description: description(&definition),
                    definition,
                    approved,
                    findings: load_findings(tx, &hash)?,
                    hash,
                    first_seen,
                });
            }
            Ok(out)
        })
    }

    /// One tool as a person reviews it before deciding: its current
    /// definition and hash, findings and, for a changed tool, the approved
    /// definition (whatever its state, unlike [`Store::pending_tools`]).
    pub fn tool_for_review(&self, server: &str, tool: &str) -> Result<PendingTool, StoreError> {
        self.read(|tx| {
            let server_state = get_server(tx, server)?.state;
            let row = find_tool(tx, server, tool)?;
            let first_seen: UnixMillis = tx.query_row(
                "SELECT first_seen FROM tools WHERE server = ?1 AND name = ?2",
                params![server, tool],
                |r| r.get(0),
            )?;
            let definition = load_definition(tx, &row.current_hash)?;
            let approved = match row.approved_hash.as_deref() {
                Some(h) if h != row.current_hash => Some(load_definition(tx, h)?),
                _ => None,
            };
            Ok(PendingTool {
                server: server.to_owned(),
                server_state,
                name: row.name,
                state: row.state,
                description: description(&definition),
                definition,
                approved,
                findings: load_findings(tx, &row.current_hash)?,
                hash: row.current_hash,
                first_seen,
            })
        })
    }

    /// The approved and current definitions of a tool whose definition
    /// changed since approval; `None` when it was never approved or has not
    /// changed.
    pub fn tool_diff(&self, server: &str, tool: &str) -> Result<Option<ToolDiff>, StoreError> {
        self.read(|tx| {
            let row = find_tool(tx, server, tool)?;
            let Some(approved_hash) = row.approved_hash.filter(|h| *h != row.current_hash) else {
                return Ok(None);
            };
            Ok(Some(ToolDiff {
                approved: load_definition(tx, &approved_hash)?,
                current: load_definition(tx, &row.current_hash)?,
            }))
        })
    }

    /// The scanner's findings on a tool's current definition, most severe first.
    pub fn findings(&self, server: &str, tool: &str) -> Result<Vec<Finding>, StoreError> {
        self.read(|tx| {
            let row = find_tool(tx, server, tool)?;
            load_findings(tx, &row.current_hash)
        })
    }
}

fn discovery<'a>(
    server: &'a str,
    tool: &'a str,
    action: DiscoveryAction,
    from: Option<ToolState>,
    to: ToolState,
    hash: &'a str,
) -> Discovery<'a> {
    Discovery {
        server,
        tool: Some(tool),
        action,
        from: from.map(ToolState::as_str),
        to: Some(to.as_str()),
        hash: Some(hash),
        detail: None,
    }
}

/// The tool `name` of `server`, or an error naming the known ones.
pub(super) fn find_tool(
    tx: &Transaction<'_>,
    server: &str,
    name: &str,
) -> Result<ToolRow, StoreError> {
    get_server(tx, server)?;
    let rows = tool_rows(tx, server)?;
    let known = known_names(&rows);
    rows.into_iter()
        .find(|row| row.name == name)
        .ok_or_else(|| StoreError::UnknownTools {
            server: server.to_owned(),
            unknown: vec![name.to_owned()],
            known,
        })
}

/// The names of the tools listed now, for error messages.
pub(super) fn known_names(rows: &[ToolRow]) -> Vec<String> {
    rows.iter()
        .filter(|row| row.present)
        .map(|row| row.name.clone())
        .collect()
}

/// Stores a definition and the findings `scanned_by` (a scanner's
/// fingerprint) gave for it.
pub(super) fn save_definition(
    tx: &Transaction<'_>,
    hash: &str,
    definition: &str,
    findings: &[Finding],
    scanned_by: &str,
    now: UnixMillis,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO definitions (hash, definition, first_seen) VALUES (?1, ?2, ?3)
         ON CONFLICT (hash) DO NOTHING",
        params![hash, definition, now],
    )?;
    let recorded: Option<String> = tx.query_row(
        "SELECT scanned_by FROM definitions WHERE hash = ?1",
        [hash],
        |row| row.get(0),
    )?;
    if recorded.as_deref() == Some(scanned_by) && load_findings(tx, hash)? == findings {
        return Ok(());
    }
    // Otherwise the findings are replaced: a newer scanner's findings reach
    // definitions approved under an older one, and a near copy of another
    // server's tool is reported (or no longer) as the catalogue changes.
    tx.execute(
        "UPDATE definitions SET scanned_by = ?2 WHERE hash = ?1",
        params![hash, scanned_by],
    )?;
    tx.execute("DELETE FROM findings WHERE hash = ?1", [hash])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO findings (hash, ordinal, rule, severity, message, excerpt,
                               span_field, span_start, span_end, span_text)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (ordinal, f) in findings.iter().enumerate() {
        let span = f.span.as_ref();
        insert.execute(params![
            hash,
            ordinal as i64,
            f.rule,
            f.severity,
            f.message,
            f.excerpt,
            span.map(|s| s.field.as_str()),
            span.map(|s| s.start as i64),
            span.map(|s| s.end as i64),
            span.map(|s| s.text.as_str()),
        ])?;
    }
    Ok(())
}

/// The stored findings of each of `hashes` that the scanner `scanned_by`
/// (its fingerprint) wrote; definitions it did not scan, or that the store
/// does not hold, are left out.
pub(super) fn scanned_before<'a>(
    tx: &Transaction<'_>,
    hashes: impl IntoIterator<Item = &'a str>,
    scanned_by: &str,
) -> Result<HashMap<String, Vec<Finding>>, StoreError> {
    let mut stmt = tx.prepare_cached("SELECT scanned_by FROM definitions WHERE hash = ?1")?;
    let mut out = HashMap::new();
    for hash in hashes {
        let recorded: Option<Option<String>> =
            stmt.query_row([hash], |row| row.get(0)).optional()?;
        if recorded.flatten().as_deref() == Some(scanned_by) {
            out.insert(hash.to_owned(), load_findings(tx, hash)?);
        }
    }
    Ok(out)
}

/// Deletes a definition (and its findings) no tool refers to any more.
pub(super) fn drop_if_unreferenced(tx: &Transaction<'_>, hash: &str) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM definitions WHERE hash = ?1
         AND NOT EXISTS (SELECT 1 FROM tools WHERE current_hash = ?1 OR approved_hash = ?1)
         AND NOT EXISTS (SELECT 1 FROM items WHERE current_hash = ?1 OR approved_hash = ?1)",
        [hash],
    )?;
    Ok(())
}

/// The approved tools of every server but `server`, for the scanner's
/// function-overlap check.
fn approved_catalogue(tx: &Transaction<'_>, server: &str) -> Result<Catalogue, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT t.server, d.definition FROM tools t
         JOIN definitions d ON d.hash = t.approved_hash
         WHERE t.server <> ?1 AND t.state <> 'blocked'",
    )?;
    let rows = stmt.query_map([server], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    let mut tools = Vec::new();
    for row in rows {
        let (owner, definition) = row?;
        // A definition that no longer parses is left out of the comparison.
        if let Ok(tool) = serde_json::from_str::<Value>(&definition) {
            tools.extend(CatalogueTool::from_definition(&owner, &tool));
        }
    }
    Ok(Catalogue::new(tools))
}

/// The findings stored for a definition, most severe first.
pub(super) fn load_findings(tx: &Transaction<'_>, hash: &str) -> Result<Vec<Finding>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT rule, severity, message, excerpt, span_field, span_start, span_end, span_text
         FROM findings WHERE hash = ?1 ORDER BY ordinal",
    )?;
    let rows = stmt.query_map([hash], |row| {
        let rule: String = row.get(0)?;
        // Findings stored before spans were kept have none.
        let span = match (
            row.get::<_, Option<String>>(4)?,
            row.get::<_, Option<i64>>(5)?,
            row.get::<_, Option<i64>>(6)?,
            row.get::<_, Option<String>>(7)?,
        ) {
            (Some(field), Some(start), Some(end), Some(text)) => Some(Span {
                field,
                start: usize::try_from(start).unwrap_or_default(),
                end: usize::try_from(end).unwrap_or_default(),
                text,
            }),
            _ => None,
        };
        Ok(Finding {
            // A rule this build does not know (a retired one) stays visible.
            rule: rule_id(&rule).unwrap_or("unknown-rule"),
            severity: row.get(1)?,
            message: row.get(2)?,
            excerpt: row.get(3)?,
            span,
        })
    })?;
    let mut findings: Vec<Finding> = rows.collect::<Result<_, _>>()?;
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Ok(findings)
}

/// The rules with a high-severity finding in a definition, each once, in
/// the order they were reported.
pub(super) fn high_rules(tx: &Transaction<'_>, hash: &str) -> Result<Vec<String>, StoreError> {
    let mut rules: Vec<String> = Vec::new();
    for f in load_findings(tx, hash)? {
        if f.severity == Severity::High && !rules.iter().any(|r| r == f.rule) {
            rules.push(f.rule.to_owned());
        }
    }
    Ok(rules)
}

pub(super) fn max_severity(
    tx: &Transaction<'_>,
    hash: &str,
) -> Result<Option<Severity>, StoreError> {
    Ok(load_findings(tx, hash)?.iter().map(|f| f.severity).max())
}

pub(super) fn load_definition(tx: &Transaction<'_>, hash: &str) -> Result<Value, StoreError> {
    let text: String = tx.query_row(
        "SELECT definition FROM definitions WHERE hash = ?1",
        [hash],
        |row| row.get(0),
    )?;
    parse_json(&text)
}

fn parse_json(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| {
        StoreError::Sqlite(rusqlite::Error::FromSqlConversionFailure(
            0,
            Type::Text,
            Box::new(e),
        ))
    })
}

fn description(definition: &Value) -> Option<String> {
    definition
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_owned)
}
