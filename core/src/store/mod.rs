//! The trust store: what Portcullis has seen and what a person decided.
//!
//! One SQLite file (usually `<data dir>/portcullis.db`) holds the servers and
//! their states, every tool each server lists with its current and approved
//! definition, the scanner's findings per definition, and the activity log of
//! calls, decisions and discoveries. The config file says what the person
//! declared; approvals live only here.
//!
//! Guarantees:
//! - Every method runs in one transaction and has committed before it
//!   returns; the database runs in WAL mode with `synchronous=FULL`, so an
//!   acknowledged decision survives a crash of the process or the machine.
//! - A decision and its activity row are written in the same transaction.
//! - Several processes may open the same file (the gateway and a CLI): writes
//!   take the write lock up front and wait up to [`BUSY_TIMEOUT`] for it.
//! - [`Store`] is `Send + Sync`; methods are short and synchronous (call them
//!   from async code with `spawn_blocking` if a slow disk matters).

#![warn(missing_docs)]

mod activity;
mod clients;
mod decisions;
mod error;
mod items;
mod migrations;
mod oauth;
mod review;
mod secrets;
mod servers;
mod sql;
mod time;
mod tools;

#[cfg(test)]
mod store_tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::trust::Scanner;

pub use activity::{
    coalesce, ActivityEntry, ActivityEvent, ActivityKind, ActivityQuery, CallOutcome, CallRecord,
    DecisionAction, DiscoveryAction,
};
pub use clients::ClientRow;
pub use decisions::Approval;
pub use error::{ChangedDefinition, HighSeverityHeld, StoreError};
pub use items::{ItemInfo, ItemStatus, PendingItem};
pub use oauth::{OAuthClientRecord, OAuthTokenRecord};
pub use secrets::SecretRow;
pub use servers::{ServerInfo, ServerRegistration};
pub use time::UnixMillis;
pub use tools::{PendingTool, ToolDiff, ToolInfo, ToolStatus};

/// How long a write waits for another connection's write lock before
/// failing with a "database is busy" error.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// `portcullis.db-wal` beside `portcullis.db`.
fn wal_file(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The trust store. Open one per process and share it (`Arc<Store>`).
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    scanner: Scanner,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema
    /// up to date. Missing parent directories are created.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref().to_owned();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let open_failed = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let mut conn = Connection::open(&path).map_err(open_failed)?;
        // OAuth tokens live here: owner only (SQLite gives its -wal and -shm files the same mode).
        for file in [
            path.clone(),
            wal_file(&path, "-wal"),
            wal_file(&path, "-shm"),
        ] {
            if let Err(e) = crate::config::private_files::restrict(&file) {
                tracing::warn!("cannot make {} private: {e}", file.display());
            }
        }
        configure(&conn, true).map_err(open_failed)?;
        migrations::migrate(&mut conn, &path)?;
        Ok(Store {
            conn: Mutex::new(conn),
            scanner: Scanner::default(),
            path,
        })
    }

    /// A store in memory, for tests and dry runs: same schema, nothing
    /// persisted.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let path = PathBuf::from(":memory:");
        let open_failed = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let mut conn = Connection::open_in_memory().map_err(open_failed)?;
        configure(&conn, false).map_err(open_failed)?;
        migrations::migrate(&mut conn, &path)?;
        Ok(Store {
            conn: Mutex::new(conn),
            scanner: Scanner::default(),
            path,
        })
    }

    /// Uses `scanner` (e.g. with a different size limit) for the findings
    /// recorded by [`Store::observe_tools`] from now on.
    pub fn with_scanner(mut self, scanner: Scanner) -> Store {
        self.scanner = scanner;
        self
    }

    /// The database file (`:memory:` for an in-memory store).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A number that changes whenever another connection (another process:
    /// the CLI, the desktop app) commits to the database. The gateway polls it
    /// to pick up decisions taken elsewhere.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .lock()
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        migrations::user_version(&self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock rolled back its transaction when
        // the transaction was dropped; the connection itself is still sound
        // (which is why the lock is one that is not poisoned).
        self.conn.lock()
    }

    /// Runs `f` in an IMMEDIATE transaction and commits it.
    fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Like `write`, for records that may be lost in a power failure (never
    /// in a crash of the process): the call log. WAL with `synchronous=NORMAL`
    /// skips the disk sync at commit; decisions keep `FULL`.
    fn write_relaxed<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let result = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })();
        conn.pragma_update(None, "synchronous", "FULL")?;
        result
    }

    /// Runs `f` in a read transaction, so it sees one consistent snapshot.
    fn read<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&tx)?;
        tx.finish()?;
        Ok(out)
    }
}

fn configure(conn: &Connection, on_disk: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    if on_disk {
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(
                mode,
                "SQLite refused WAL mode; the trust store runs in {mode} mode"
            );
        }
    }
    // FULL: a commit is on disk before it returns, so an acknowledged
    // approval survives SIGKILL and power loss alike.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(())
}
