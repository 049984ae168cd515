//! Where each secret is kept: its name, the backend holding its value and
//! when it was last set. Never a value.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError, UnixMillis};

/// One secret's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRow {
    /// Its name.
    pub name: String,
    /// `keyring` or `file`.
    pub backend: String,
    /// When its value was last set.
    pub updated_at: UnixMillis,
}

impl Store {
    /// Every secret's record, by name.
    pub fn secret_rows(&self) -> Result<Vec<SecretRow>, StoreError> {
        self.read(|tx| {
            let mut stmt =
                tx.prepare("SELECT name, backend, updated_at FROM secrets ORDER BY name")?;
            let rows = stmt.query_map([], |r| {
                Ok(SecretRow {
                    name: r.get(0)?,
                    backend: r.get(1)?,
                    updated_at: UnixMillis(r.get(2)?),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// The backend holding `name`, if it is recorded.
    pub fn secret_backend(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_row("SELECT backend FROM secrets WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()?)
        })
    }

    /// Records that `backend` holds `name` now.
    pub fn record_secret(&self, name: &str, backend: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO secrets (name, backend, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET backend = ?2, updated_at = ?3",
                params![name, backend, UnixMillis::now()],
            )?;
            Ok(())
        })
    }

    /// A one-time step's mark, if it was done.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()?)
        })
    }

    /// Marks a one-time step done.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
                params![key, value],
            )?;
            Ok(())
        })
    }

    /// Forgets the record of `name`; whether there was one.
    pub fn forget_secret(&self, name: &str) -> Result<bool, StoreError> {
        self.write(|tx| Ok(tx.execute("DELETE FROM secrets WHERE name = ?1", [name])? > 0))
    }
}
