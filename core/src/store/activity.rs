//! The activity log: every call, every decision, every discovery.
//!
//! Rows are append-only and ordered by an id that is never reused, so a
//! follower (`portcullis activity --follow`, the UI) polls with `after_id`
//! and never misses or repeats a row. Retention is bounded by
//! [`Store::prune`], which the caller runs periodically.

use std::time::Duration;

use rusqlite::{params, Row, Transaction};
use serde::{Deserialize, Serialize};

use crate::trust::{spelled_enum, Actor};

use super::{Store, StoreError, UnixMillis};

/// What kind of row an activity entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// A tool call routed (or refused) by the gateway.
    Call,
    /// A person's decision about a server or tool.
    Decision,
    /// Something the gateway noticed: a new server, a new, changed or
    /// vanished tool.
    Discovery,
}
spelled_enum!(ActivityKind { Call => "call", Decision => "decision", Discovery => "discovery" });

/// What a person decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionAction {
    /// Approved a tool's current definition.
    ApproveTool,
    /// Blocked a tool.
    BlockTool,
    /// Changed a server's state.
    SetServerState,
    /// Approved an item's current definition (instructions, a prompt, a
    /// resource or a resource template).
    ApproveItem,
    /// Blocked an item.
    BlockItem,
}
spelled_enum!(DecisionAction {
    ApproveTool => "approve_tool",
    BlockTool => "block_tool",
    SetServerState => "set_server_state",
    ApproveItem => "approve_item",
    BlockItem => "block_item",
});

/// What the gateway noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscoveryAction {
    /// A server was registered.
    ServerAdded,
    /// A server's launch (command, arguments, URL…) changed in the config
    /// file; a trusted server went back to pending.
    ServerChanged,
    /// A server listed a tool for the first time.
    ToolAdded,
    /// A tool's definition changed.
    ToolChanged,
    /// A server stopped listing a tool.
    ToolRemoved,
    /// A server listed again a tool it had stopped listing.
    ToolReturned,
    /// A server offered an item (instructions, prompt, resource, template)
    /// for the first time.
    ItemAdded,
    /// An item's definition changed.
    ItemChanged,
}
spelled_enum!(DiscoveryAction {
    ServerAdded => "server_added",
    ServerChanged => "server_changed",
    ToolAdded => "tool_added",
    ToolChanged => "tool_changed",
    ToolRemoved => "tool_removed",
    ToolReturned => "tool_returned",
    ItemAdded => "item_added",
    ItemChanged => "item_changed",
});

/// How a tool call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "message", rename_all = "snake_case")]
pub enum CallOutcome {
    /// The upstream answered with a result (even one with `isError`).
    Ok,
    /// The call failed: transport error, timeout, JSON-RPC error.
    Error(String),
    /// The gateway refused the call (server or tool not approved).
    Blocked,
}

/// One tool call, as the gateway reports it to [`Store::record_call`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// When the call started.
    pub time: UnixMillis,
    /// The downstream session that made it.
    pub session: String,
    /// The client's `clientInfo.name`, if it sent one.
    pub client_name: Option<String>,
    /// The client's `clientInfo.version`, if it sent one.
    pub client_version: Option<String>,
    /// The client its bearer token names (`portcullis client add`), if it
    /// sent one: who made the call, as far as the gateway can tell.
    pub client: Option<String>,
    /// The upstream server.
    pub server: String,
    /// The tool's upstream name.
    pub tool: String,
    /// How long the call took.
    pub duration_ms: u64,
    /// How it ended.
    pub outcome: CallOutcome,
    /// Size of the request's arguments as received.
    pub request_bytes: u64,
    /// Size of the response as returned.
    pub response_bytes: u64,
    /// How many calls this record stands for: 1 for one call; more once
    /// [`coalesce`] has folded a burst of identical calls into it.
    pub calls: u64,
}

impl CallRecord {
    /// Whether `other` is the same call again: same session, server, tool
    /// and outcome (an error with the same message).
    fn same_call(&self, other: &CallRecord) -> bool {
        self.session == other.session
            && self.server == other.server
            && self.tool == other.tool
            && self.outcome == other.outcome
    }

    /// Folds `other` into this record: counts and sizes add up, the
    /// duration becomes the mean, the time stays that of the first call.
    fn absorb(&mut self, other: &CallRecord) {
        let total = self.calls + other.calls;
        let spent = self
            .duration_ms
            .saturating_mul(self.calls)
            .saturating_add(other.duration_ms.saturating_mul(other.calls));
        self.duration_ms = (spent + total / 2) / total.max(1);
        self.calls = total;
        self.request_bytes = self.request_bytes.saturating_add(other.request_bytes);
        self.response_bytes = self.response_bytes.saturating_add(other.response_bytes);
    }
}

/// Folds identical calls of one batch into one record each, in the order
/// of their first call, so an agent calling the same tool in a tight loop
/// writes one row per batch rather than one per call.
pub fn coalesce(records: Vec<CallRecord>) -> Vec<CallRecord> {
    let mut out: Vec<CallRecord> = Vec::with_capacity(records.len().min(64));
    for record in records {
        // Batches hold few distinct calls: a short scan from the newest wins.
        match out.iter_mut().rev().find(|r| r.same_call(&record)) {
            Some(first) => first.absorb(&record),
            None => out.push(record),
        }
    }
    out
}

/// What an activity entry records, by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActivityEvent {
    /// A tool call.
    Call {
        /// The downstream session.
        session: String,
        /// The client's name.
        client_name: Option<String>,
        /// The client's version.
        client_version: Option<String>,
        /// The client its token names.
        client: Option<String>,
        /// How long it took (for a row of several calls: their mean).
        duration_ms: u64,
        /// How it ended.
        outcome: CallOutcome,
        /// Request size (for several calls: their total).
        request_bytes: u64,
        /// Response size (for several calls: their total).
        response_bytes: u64,
        /// How many identical calls the row stands for (1 for most).
        calls: u64,
    },
    /// A person's decision.
    Decision {
        /// Who decided.
        actor: Actor,
        /// What.
        action: DecisionAction,
        /// The state before.
        from: String,
        /// The state after.
        to: String,
        /// For tool approvals, the hash of the approved definition.
        hash: Option<String>,
    },
    /// Something noticed.
    Discovery {
        /// What.
        action: DiscoveryAction,
        /// The state before, if the subject existed.
        from: Option<String>,
        /// The state after.
        to: Option<String>,
        /// For tools, the hash of the definition now listed.
        hash: Option<String>,
        /// For servers, their origin.
        detail: Option<String>,
    },
}

impl ActivityEvent {
    /// The kind of this event.
    pub fn kind(&self) -> ActivityKind {
        match self {
            ActivityEvent::Call { .. } => ActivityKind::Call,
            ActivityEvent::Decision { .. } => ActivityKind::Decision,
            ActivityEvent::Discovery { .. } => ActivityKind::Discovery,
        }
    }
}

/// One row of the activity log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityEntry {
    /// Increasing, never reused: pass the last one seen as
    /// [`ActivityQuery::after_id`] to follow the log.
    pub id: i64,
    /// When it happened.
    pub time: UnixMillis,
    /// The server concerned.
    pub server: Option<String>,
    /// The tool concerned, if any.
    pub tool: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub event: ActivityEvent,
}

/// Which activity rows to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActivityQuery {
    /// At most this many rows (capped at [`ActivityQuery::MAX_LIMIT`]).
    pub limit: usize,
    /// Only rows after this id, oldest first (for following). Without it,
    /// the newest `limit` rows, oldest first.
    pub after_id: Option<i64>,
    /// Only rows of this kind.
    pub kind: Option<ActivityKind>,
    /// Only rows about this server.
    pub server: Option<String>,
}

impl ActivityQuery {
    /// The largest `limit` honoured.
    pub const MAX_LIMIT: usize = 10_000;
}

impl Default for ActivityQuery {
    fn default() -> Self {
        ActivityQuery {
            limit: 100,
            after_id: None,
            kind: None,
            server: None,
        }
    }
}

const COLUMNS: &str = "id, time, kind, server, tool, action, actor, from_state, to_state, hash, \
     session, client_name, client_version, duration_ms, outcome, detail, request_bytes, response_bytes, calls, client";

impl Store {
    /// Appends one call to the log. Returns its id.
    pub fn record_call(&self, record: CallRecord) -> Result<i64, StoreError> {
        self.write(|tx| insert_call(tx, &record))
    }

    /// Appends several calls in one transaction, without a disk sync: a
    /// crash of the process loses none of them, a power failure may lose the
    /// last ones (decisions are always synced).
    pub fn record_calls(&self, records: &[CallRecord]) -> Result<(), StoreError> {
        self.write_relaxed(|tx| {
            for record in records {
                insert_call(tx, record)?;
            }
            Ok(())
        })
    }

    /// Reads the log; see [`ActivityQuery`].
    pub fn activity(&self, query: &ActivityQuery) -> Result<Vec<ActivityEntry>, StoreError> {
        let limit = i64::try_from(query.limit.min(ActivityQuery::MAX_LIMIT)).unwrap_or(0);
        let filters = "(?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR server = ?3)";
        let sql = match query.after_id {
            Some(_) => format!(
                "SELECT {COLUMNS} FROM activity WHERE id > ?1 AND {filters} ORDER BY id LIMIT ?4"
            ),
            None => format!(
                "SELECT * FROM (SELECT {COLUMNS} FROM activity WHERE ?1 IS NULL AND {filters} \
                 ORDER BY id DESC LIMIT ?4) ORDER BY id"
            ),
        };
        self.read(|tx| {
            let mut stmt = tx.prepare(&sql)?;
            let rows = stmt.query_map(
                params![query.after_id, query.kind, query.server, limit],
                entry_from_row,
            )?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Deletes log rows older than `max_age`, then the oldest rows beyond
    /// the newest `max_rows`. Returns how many rows were deleted. Both
    /// deletes walk an index, so calling this after every batch is cheap.
    pub fn prune(&self, max_age: Duration, max_rows: usize) -> Result<usize, StoreError> {
        let cutoff = UnixMillis::now().saturating_sub(max_age);
        let keep = i64::try_from(max_rows).unwrap_or(i64::MAX);
        self.write(|tx| {
            let old = tx.execute("DELETE FROM activity WHERE time < ?1", [cutoff])?;
            // Ids only grow, so the newest `keep` rows have the largest ids.
            let extra = tx.execute(
                "DELETE FROM activity WHERE id <= (SELECT MAX(id) FROM activity) - ?1",
                [keep],
            )?;
            Ok(old + extra)
        })
    }
}

fn insert_call(tx: &Transaction<'_>, r: &CallRecord) -> Result<i64, StoreError> {
    let (outcome, detail) = match &r.outcome {
        CallOutcome::Ok => ("ok", None),
        CallOutcome::Error(message) => ("error", Some(message.as_str())),
        CallOutcome::Blocked => ("blocked", None),
    };
    tx.prepare_cached(
        "INSERT INTO activity (time, kind, server, tool, session, client_name, client_version,
                               duration_ms, outcome, detail, request_bytes, response_bytes, calls, client)
         VALUES (?1, 'call', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        r.time,
        r.server,
        r.tool,
        r.session,
        r.client_name,
        r.client_version,
        saturate(r.duration_ms),
        outcome,
        detail,
        saturate(r.request_bytes),
        saturate(r.response_bytes),
        saturate(r.calls.max(1)),
        r.client,
    ])?;
    Ok(tx.last_insert_rowid())
}

fn saturate(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A decision row, written in the transaction that applies the decision.
pub(super) struct Decision<'a> {
    pub(super) actor: Actor,
    pub(super) server: &'a str,
    pub(super) tool: Option<&'a str>,
    pub(super) action: DecisionAction,
    pub(super) from: &'a str,
    pub(super) to: &'a str,
    pub(super) hash: Option<&'a str>,
}

impl Decision<'_> {
    pub(super) fn log(&self, tx: &Transaction<'_>, time: UnixMillis) -> Result<(), StoreError> {
        tx.execute(
            "INSERT INTO activity (time, kind, server, tool, action, actor, from_state, to_state, hash)
             VALUES (?1, 'decision', ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![time, self.server, self.tool, self.action, self.actor, self.from, self.to, self.hash],
        )?;
        Ok(())
    }
}

/// A discovery row.
pub(super) struct Discovery<'a> {
    pub(super) server: &'a str,
    pub(super) tool: Option<&'a str>,
    pub(super) action: DiscoveryAction,
    pub(super) from: Option<&'a str>,
    pub(super) to: Option<&'a str>,
    pub(super) hash: Option<&'a str>,
    pub(super) detail: Option<&'a str>,
}

impl Discovery<'_> {
    pub(super) fn log(&self, tx: &Transaction<'_>, time: UnixMillis) -> Result<(), StoreError> {
        tx.execute(
            "INSERT INTO activity (time, kind, server, tool, action, from_state, to_state, hash, detail)
             VALUES (?1, 'discovery', ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![time, self.server, self.tool, self.action, self.from, self.to, self.hash, self.detail],
        )?;
        Ok(())
    }
}

fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<ActivityEntry> {
    let kind: ActivityKind = row.get(2)?;
    let event = match kind {
        ActivityKind::Call => ActivityEvent::Call {
            session: row.get::<_, Option<String>>(10)?.unwrap_or_default(),
            client_name: row.get(11)?,
            client_version: row.get(12)?,
            client: row.get(19)?,
            duration_ms: unsigned(row.get(13)?),
            outcome: match row.get::<_, Option<String>>(14)?.as_deref() {
                Some("error") => {
                    CallOutcome::Error(row.get::<_, Option<String>>(15)?.unwrap_or_default())
                }
                Some("blocked") => CallOutcome::Blocked,
                _ => CallOutcome::Ok,
            },
            request_bytes: unsigned(row.get(16)?),
            response_bytes: unsigned(row.get(17)?),
            calls: unsigned(row.get(18)?).max(1),
        },
        ActivityKind::Decision => ActivityEvent::Decision {
            action: row.get(5)?,
            actor: row.get(6)?,
            from: row.get::<_, Option<String>>(7)?.unwrap_or_default(),
            to: row.get::<_, Option<String>>(8)?.unwrap_or_default(),
            hash: row.get(9)?,
        },
        ActivityKind::Discovery => ActivityEvent::Discovery {
            action: row.get(5)?,
            from: row.get(7)?,
            to: row.get(8)?,
            hash: row.get(9)?,
            detail: row.get(15)?,
        },
    };
    Ok(ActivityEntry {
        id: row.get(0)?,
        time: row.get(1)?,
        server: row.get(3)?,
        tool: row.get(4)?,
        event,
    })
}

fn unsigned(n: Option<i64>) -> u64 {
    n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}
