//! Client tokens: for each client a person named, a hash of its bearer
//! token (never the token) and the profile it is bound to, if any.

use rusqlite::params;

use super::{Store, StoreError, UnixMillis};

/// One client's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRow {
    /// Its name.
    pub name: String,
    /// The SHA-256 (hex) of its token.
    pub token_hash: String,
    /// The profile its token is bound to.
    pub profile: Option<String>,
    /// When its token was made.
    pub created_at: UnixMillis,
}

impl Store {
    /// Every client, by name.
    pub fn clients(&self) -> Result<Vec<ClientRow>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT name, token_hash, profile, created_at FROM clients ORDER BY name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(ClientRow {
                    name: r.get(0)?,
                    token_hash: r.get(1)?,
                    profile: r.get(2)?,
                    created_at: UnixMillis(r.get(3)?),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Records client `name` with the hash of its new token (replacing the
    /// one it had: the old token stops working), bound to `profile`.
    pub fn put_client(
        &self,
        name: &str,
        token_hash: &str,
        profile: Option<&str>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO clients (name, token_hash, profile, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET token_hash = ?2, profile = ?3, created_at = ?4",
                params![name, token_hash, profile, UnixMillis::now()],
            )?;
            Ok(())
        })
    }

    /// Forgets client `name` (its token stops working); whether it existed.
    pub fn remove_client(&self, name: &str) -> Result<bool, StoreError> {
        self.write(|tx| Ok(tx.execute("DELETE FROM clients WHERE name = ?1", [name])? > 0))
    }
}
