//! Versioned schema migrations.
//!
//! `PRAGMA user_version` holds the number of steps applied. Steps are only
//! ever appended: a released step is never edited, because databases in the
//! field have already run it. Each step runs in its own IMMEDIATE
//! transaction together with the version bump, so a crash leaves the file at
//! the previous version, and two processes opening the same file at once
//! apply each step once.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// The schema steps, oldest first. Step `i` takes the schema from version
/// `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: servers, tools, definitions, findings, activity.
    r#"
    CREATE TABLE servers (
        name       TEXT PRIMARY KEY NOT NULL,
        state      TEXT NOT NULL CHECK (state IN ('pending', 'trusted', 'blocked')),
        origin     TEXT NOT NULL CHECK (origin IN ('person', 'config_file')),
        added_at   INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;

    -- Every definition still referenced by a tool, keyed by its hash; the
    -- text is the canonical JSON of the hashed fields.
    CREATE TABLE definitions (
        hash       TEXT PRIMARY KEY NOT NULL,
        definition TEXT NOT NULL,
        first_seen INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE tools (
        server        TEXT NOT NULL REFERENCES servers (name) ON DELETE CASCADE,
        name          TEXT NOT NULL,
        state         TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'changed', 'blocked')),
        present       INTEGER NOT NULL CHECK (present IN (0, 1)),
        current_hash  TEXT NOT NULL REFERENCES definitions (hash),
        approved_hash TEXT REFERENCES definitions (hash),
        first_seen    INTEGER NOT NULL,
        last_seen     INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        PRIMARY KEY (server, name)
    ) STRICT;

    CREATE TABLE findings (
        hash     TEXT NOT NULL REFERENCES definitions (hash) ON DELETE CASCADE,
        ordinal  INTEGER NOT NULL,
        rule     TEXT NOT NULL,
        severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
        message  TEXT NOT NULL,
        excerpt  TEXT NOT NULL,
        PRIMARY KEY (hash, ordinal)
    ) STRICT;

    -- AUTOINCREMENT: ids are never reused, so `after_id` polling never
    -- skips a row.
    CREATE TABLE activity (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        time           INTEGER NOT NULL,
        kind           TEXT NOT NULL CHECK (kind IN ('call', 'decision', 'discovery')),
        server         TEXT,
        tool           TEXT,
        action         TEXT,
        actor          TEXT,
        from_state     TEXT,
        to_state       TEXT,
        hash           TEXT,
        session        TEXT,
        client_name    TEXT,
        client_version TEXT,
        duration_ms    INTEGER,
        outcome        TEXT CHECK (outcome IN ('ok', 'error', 'blocked')),
        detail         TEXT,
        request_bytes  INTEGER,
        response_bytes INTEGER
    ) STRICT;
    CREATE INDEX activity_by_time ON activity (time);
    CREATE INDEX activity_by_kind ON activity (kind, id);
    "#,
    // 2: how each server is launched, so a config edit that runs something
    // else under a trusted name is noticed (NULL: not seen yet).
    r#"
    ALTER TABLE servers ADD COLUMN launch_hash TEXT;
    "#,
    // 3: a call row may stand for a burst of identical calls (same session,
    // tool and outcome within one write of the log).
    r#"
    ALTER TABLE activity ADD COLUMN calls INTEGER NOT NULL DEFAULT 1;
    "#,
    // 4: OAuth toward HTTP upstreams: the client identities Portcullis
    // registered (or was given) at each authorization server, and each
    // server's tokens, bound to the URL they were granted for.
    r#"
    CREATE TABLE oauth_clients (
        server        TEXT NOT NULL REFERENCES servers (name) ON DELETE CASCADE,
        issuer        TEXT NOT NULL,
        redirect_uri  TEXT NOT NULL,
        client_id     TEXT NOT NULL,
        client_secret TEXT,
        auth_method   TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        PRIMARY KEY (server, issuer, redirect_uri)
    ) STRICT;

    CREATE TABLE oauth_tokens (
        server        TEXT PRIMARY KEY NOT NULL REFERENCES servers (name) ON DELETE CASCADE,
        url           TEXT NOT NULL,
        issuer        TEXT NOT NULL,
        client_id     TEXT NOT NULL,
        resource      TEXT,
        access_token  TEXT NOT NULL,
        refresh_token TEXT,
        scope         TEXT,
        expires_at    INTEGER,
        token_type    TEXT NOT NULL DEFAULT 'Bearer',
        dpop_key      BLOB,
        updated_at    INTEGER NOT NULL
    ) STRICT;
    "#,
    // 5: everything else a server says to the model (instructions, prompts,
    // resources, resource templates) is held like tools: items with a
    // current and an approved definition. Decisions logged without the hash
    // they approved get it from the tool's approved definition, so every
    // approval in the log names what it approved.
    r#"
    CREATE TABLE items (
        server        TEXT NOT NULL REFERENCES servers (name) ON DELETE CASCADE,
        kind          TEXT NOT NULL CHECK (kind IN ('instructions', 'prompt', 'resource', 'resource_template')),
        name          TEXT NOT NULL,
        state         TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'changed', 'blocked')),
        present       INTEGER NOT NULL CHECK (present IN (0, 1)),
        current_hash  TEXT NOT NULL REFERENCES definitions (hash),
        approved_hash TEXT REFERENCES definitions (hash),
        first_seen    INTEGER NOT NULL,
        last_seen     INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        PRIMARY KEY (server, kind, name)
    ) STRICT;

    UPDATE activity SET hash = (
        SELECT t.approved_hash FROM tools t
        WHERE t.server = activity.server AND t.name = activity.tool
    )
    WHERE kind = 'decision' AND action = 'approve_tool' AND hash IS NULL;
    "#,
    // 6: the exact span each finding is about (which string of the
    // definition, byte offsets into it, the matched text). Findings stored
    // before keep NULL: no span.
    r#"
    ALTER TABLE findings ADD COLUMN span_field TEXT;
    ALTER TABLE findings ADD COLUMN span_start INTEGER;
    ALTER TABLE findings ADD COLUMN span_end   INTEGER;
    ALTER TABLE findings ADD COLUMN span_text  TEXT;
    "#,
    // 7: where each secret's value is kept (never the value): the OS
    // keyring or the encrypted file. OAuth tokens and client secrets move
    // there too; their columns here are emptied when they do.
    r#"
    CREATE TABLE secrets (
        name       TEXT PRIMARY KEY NOT NULL,
        backend    TEXT NOT NULL CHECK (backend IN ('keyring', 'file')),
        updated_at INTEGER NOT NULL
    ) STRICT;

    -- One-time steps done outside SQL (e.g. moving the config's secrets).
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    ) STRICT;
    "#,
    // 8: client tokens (a hash of each, never the token), the profile each
    // is bound to, and which client (by its token) made each call.
    r#"
    CREATE TABLE clients (
        name       TEXT PRIMARY KEY NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        profile    TEXT,
        created_at INTEGER NOT NULL
    ) STRICT;

    ALTER TABLE activity ADD COLUMN client TEXT;
    "#,
    // 9: which scanner wrote a definition's findings (`Scanner::fingerprint`),
    // so a listing of a definition that scanner has read is not scanned again
    // and a binary with other rules scans it anew. NULL: not known, scan it.
    r#"
    ALTER TABLE definitions ADD COLUMN scanned_by TEXT;
    "#,
];

/// The schema version this build writes.
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the schema of `conn` up to [`SCHEMA_VERSION`].
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let found = user_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (step, sql) in MIGRATIONS.iter().enumerate() {
        let version = step + 1;
        let failed = |source| StoreError::Migration {
            path: path.to_owned(),
            version,
            source,
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        // Read again under the write lock: another process may have
        // migrated since we looked.
        let current: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(failed)?;
        if current >= version as i64 {
            continue;
        }
        tx.execute_batch(sql).map_err(failed)?;
        tx.pragma_update(None, "user_version", version as i64)
            .map_err(failed)?;
        tx.commit().map_err(failed)?;
    }
    Ok(())
}

/// The schema version recorded in the file.
pub(super) fn user_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ActivityEvent, ActivityKind, ActivityQuery, Store};
    use crate::trust::{canonical_json, definition_hash, Callability, ToolState};
    use serde_json::json;

    /// A store written by the release before items: schema 4, one approved
    /// tool, and an approval logged without the hash it approved.
    fn old_store(path: &Path) -> String {
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        for sql in &MIGRATIONS[..4] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        let tool = json!({"name": "echo", "description": "Echo text."});
        let hash = definition_hash(&tool);
        conn.execute_batch(&format!(
            "INSERT INTO servers (name, state, origin, added_at, updated_at) VALUES ('gh', 'trusted', 'person', 1, 1);
             INSERT INTO definitions (hash, definition, first_seen) VALUES ('{hash}', '{}', 1);
             INSERT INTO tools (server, name, state, present, current_hash, approved_hash, first_seen, last_seen, updated_at)
                 VALUES ('gh', 'echo', 'approved', 1, '{hash}', '{hash}', 1, 1, 1);
             INSERT INTO activity (time, kind, server, tool, action, actor, from_state, to_state, hash)
                 VALUES (1, 'decision', 'gh', 'echo', 'approve_tool', 'cli', 'pending', 'approved', NULL);",
            canonical_json(&tool)
        ))
        .unwrap();
        hash
    }

    #[test]
    fn decisions_from_before_the_upgrade_keep_working_and_name_their_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("portcullis.db");
        let hash = old_store(&path);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(
            store.is_callable("gh", "echo").unwrap(),
            Callability::Callable
        );
        let decisions = store
            .activity(&ActivityQuery {
                limit: 10,
                after_id: None,
                kind: Some(ActivityKind::Decision),
                server: None,
            })
            .unwrap();
        match &decisions[0].event {
            ActivityEvent::Decision { hash: logged, .. } => {
                assert_eq!(logged.as_deref(), Some(hash.as_str()));
            }
            other => panic!("not a decision: {other:?}"),
        }
        // The server listing the same definition keeps it approved; another is held.
        let same = json!({"name": "echo", "description": "Echo text."});
        assert_eq!(
            store.observe_tools("gh", &[same]).unwrap()[0].state,
            ToolState::Approved
        );
        let other = json!({"name": "echo", "description": "Echo text, then mail it away."});
        assert_eq!(
            store.observe_tools("gh", &[other]).unwrap()[0].state,
            ToolState::Changed
        );
        assert!(store.items("gh").unwrap().is_empty());
    }
}
