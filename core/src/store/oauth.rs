//! OAuth state for HTTP upstreams: client registrations and tokens.
//!
//! Secrets are stored here and nowhere else: the records' `Debug` output
//! leaves them out, so they cannot reach a log line by accident. A token is
//! bound to the URL it was granted for; reading it for another URL finds
//! nothing, so a changed URL needs a new sign-in.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError, UnixMillis};

/// A client identity at one authorization server.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthClientRecord {
    /// The authorization server's issuer.
    pub issuer: String,
    /// The redirect URI it was registered with.
    pub redirect_uri: String,
    /// The client id.
    pub client_id: String,
    /// The client secret, for confidential clients.
    pub client_secret: Option<String>,
    /// `none`, `client_secret_basic` or `client_secret_post`.
    pub auth_method: String,
}

impl std::fmt::Debug for OAuthClientRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClientRecord")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("auth_method", &self.auth_method)
            .finish_non_exhaustive()
    }
}

/// The tokens of one server.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthTokenRecord {
    /// The server URL they were granted for.
    pub url: String,
    /// The authorization server that issued them.
    pub issuer: String,
    /// The client they were issued to.
    pub client_id: String,
    /// The `resource` they were requested for.
    pub resource: Option<String>,
    /// The access token.
    pub access_token: String,
    /// The refresh token, when one was issued.
    pub refresh_token: Option<String>,
    /// The scopes granted (space-separated).
    pub scope: Option<String>,
    /// When the access token expires.
    pub expires_at: Option<UnixMillis>,
    /// `Bearer`, or `DPoP` for a token bound to `dpop_key`.
    pub token_type: String,
    /// The private key (PKCS#8) a DPoP-bound token is bound to.
    pub dpop_key: Option<Vec<u8>>,
}

impl std::fmt::Debug for OAuthTokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthTokenRecord")
            .field("url", &self.url)
            .field("issuer", &self.issuer)
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &self.refresh_token.is_some())
            .field("token_type", &self.token_type)
            .finish_non_exhaustive()
    }
}

/// The columns [`token_row`] reads, in its order.
const TOKEN_COLUMNS: &str = "url, issuer, client_id, resource, access_token, refresh_token, scope, expires_at, token_type, dpop_key";

/// A token record from [`TOKEN_COLUMNS`], starting at column `at`.
fn token_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<OAuthTokenRecord> {
    Ok(OAuthTokenRecord {
        url: r.get(at)?,
        issuer: r.get(at + 1)?,
        client_id: r.get(at + 2)?,
        resource: r.get(at + 3)?,
        access_token: r.get(at + 4)?,
        refresh_token: r.get(at + 5)?,
        scope: r.get(at + 6)?,
        expires_at: r.get::<_, Option<i64>>(at + 7)?.map(UnixMillis),
        token_type: r.get(at + 8)?,
        dpop_key: r.get(at + 9)?,
    })
}

impl Store {
    /// The client identity registered for `server` at `issuer` with `redirect_uri`.
    pub fn oauth_client(
        &self,
        server: &str,
        issuer: &str,
        redirect_uri: &str,
    ) -> Result<Option<OAuthClientRecord>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT client_id, client_secret, auth_method FROM oauth_clients WHERE server = ?1 AND issuer = ?2 AND redirect_uri = ?3",
                    params![server, issuer, redirect_uri],
                    |r| Ok(OAuthClientRecord { issuer: issuer.to_owned(), redirect_uri: redirect_uri.to_owned(), client_id: r.get(0)?, client_secret: r.get(1)?, auth_method: r.get(2)? }),
                )
                .optional()?)
        })
    }

    /// The client identity `client_id` of `server` at `issuer`, whatever its redirect URI.
    pub fn oauth_client_by_id(
        &self,
        server: &str,
        issuer: &str,
        client_id: &str,
    ) -> Result<Option<OAuthClientRecord>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT redirect_uri, client_secret, auth_method FROM oauth_clients WHERE server = ?1 AND issuer = ?2 AND client_id = ?3 ORDER BY created_at DESC LIMIT 1",
                    params![server, issuer, client_id],
                    |r| Ok(OAuthClientRecord { issuer: issuer.to_owned(), redirect_uri: r.get(0)?, client_id: client_id.to_owned(), client_secret: r.get(1)?, auth_method: r.get(2)? }),
                )
                .optional()?)
        })
    }

    /// Records (or replaces) a client identity.
    pub fn save_oauth_client(
        &self,
        server: &str,
        client: &OAuthClientRecord,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO oauth_clients (server, issuer, redirect_uri, client_id, client_secret, auth_method, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (server, issuer, redirect_uri) DO UPDATE SET client_id = ?4, client_secret = ?5, auth_method = ?6, created_at = ?7",
                params![server, client.issuer, client.redirect_uri, client.client_id, client.client_secret, client.auth_method, UnixMillis::now()],
            )?;
            Ok(())
        })
    }

    /// The tokens of `server`, if they were granted for `url`.
    pub fn oauth_tokens(
        &self,
        server: &str,
        url: &str,
    ) -> Result<Option<OAuthTokenRecord>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_row(
                    &format!(
                        "SELECT {TOKEN_COLUMNS} FROM oauth_tokens WHERE server = ?1 AND url = ?2"
                    ),
                    params![server, url],
                    |r| token_row(r, 0),
                )
                .optional()?)
        })
    }

    /// Records the tokens of `server` (replacing any earlier ones).
    pub fn save_oauth_tokens(
        &self,
        server: &str,
        tokens: &OAuthTokenRecord,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO oauth_tokens (server, url, issuer, client_id, resource, access_token, refresh_token, scope, expires_at, updated_at, token_type, dpop_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (server) DO UPDATE SET url = ?2, issuer = ?3, client_id = ?4, resource = ?5, access_token = ?6,
                     refresh_token = ?7, scope = ?8, expires_at = ?9, updated_at = ?10, token_type = ?11, dpop_key = ?12",
                params![
                    server,
                    tokens.url,
                    tokens.issuer,
                    tokens.client_id,
                    tokens.resource,
                    tokens.access_token,
                    tokens.refresh_token,
                    tokens.scope,
                    tokens.expires_at.map(|t| t.0),
                    UnixMillis::now(),
                    tokens.token_type,
                    tokens.dpop_key
                ],
            )?;
            Ok(())
        })
    }

    /// Token records whose secrets are still in the store (written before
    /// secrets moved to the keyring), with the server of each.
    pub fn plain_oauth_tokens(&self) -> Result<Vec<(String, OAuthTokenRecord)>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT server, {TOKEN_COLUMNS} FROM oauth_tokens WHERE access_token <> ''"
            ))?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, token_row(r, 1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Client records whose secret is still in the store, with the server of each.
    pub fn plain_oauth_clients(&self) -> Result<Vec<(String, OAuthClientRecord)>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT server, issuer, redirect_uri, client_id, client_secret, auth_method FROM oauth_clients WHERE client_secret IS NOT NULL",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    OAuthClientRecord {
                        issuer: r.get(1)?,
                        redirect_uri: r.get(2)?,
                        client_id: r.get(3)?,
                        client_secret: r.get(4)?,
                        auth_method: r.get(5)?,
                    },
                ))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Forgets the tokens of `server` (they were refused, or it signs out).
    pub fn forget_oauth_tokens(&self, server: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM oauth_tokens WHERE server = ?1", [server])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::ServerOrigin;

    #[test]
    fn tokens_are_bound_to_their_url_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let store = Store::open(&path).unwrap();
        store
            .register_server("remote", ServerOrigin::Person)
            .unwrap();
        let tokens = OAuthTokenRecord {
            url: "http://127.0.0.1:1/mcp".into(),
            issuer: "http://as".into(),
            client_id: "c".into(),
            resource: Some("http://127.0.0.1:1/mcp".into()),
            access_token: "secret-access".into(),
            refresh_token: Some("secret-refresh".into()),
            scope: Some("a b".into()),
            expires_at: Some(UnixMillis(5)),
            token_type: "DPoP".into(),
            dpop_key: Some(b"secret-key".to_vec()),
        };
        store.save_oauth_tokens("remote", &tokens).unwrap();
        let client = OAuthClientRecord {
            issuer: "http://as".into(),
            redirect_uri: "http://127.0.0.1:2/oauth/callback".into(),
            client_id: "c".into(),
            client_secret: Some("s3cret".into()),
            auth_method: "client_secret_basic".into(),
        };
        store.save_oauth_client("remote", &client).unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store
                .oauth_tokens("remote", "http://127.0.0.1:1/mcp")
                .unwrap(),
            Some(tokens.clone())
        );
        assert_eq!(
            store
                .oauth_tokens("remote", "http://127.0.0.1:1/other")
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .oauth_client("remote", "http://as", &client.redirect_uri)
                .unwrap(),
            Some(client.clone())
        );
        assert_eq!(
            store
                .oauth_client_by_id("remote", "http://as", "c")
                .unwrap(),
            Some(client.clone())
        );
        assert_eq!(
            store
                .oauth_client_by_id("remote", "http://other-as", "c")
                .unwrap(),
            None
        );
        let shown = format!("{tokens:?} {client:?}");
        for secret in [
            "secret-access",
            "secret-refresh",
            "s3cret",
            "secret-key",
            "115, 101",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
        store.forget_oauth_tokens("remote").unwrap();
        assert_eq!(
            store
                .oauth_tokens("remote", "http://127.0.0.1:1/mcp")
                .unwrap(),
            None
        );
    }
}
