//! Where a sign-in's secrets live: the store keeps each token and client
//! record without its secrets (which server, issuer, URL, scopes, expiry),
//! the keyring (through [`Secrets`]) keeps the access and refresh tokens, the
//! DPoP private key and the client secret. Records stored before secrets
//! moved (their values still in the store) are read as they are and moved by
//! [`TokenVault::move_plain`] at start.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::secrets::{SecretError, Secrets};
use crate::store::{OAuthClientRecord, OAuthTokenRecord};

/// The secret part of a token record.
#[derive(Serialize, Deserialize)]
struct TokenSecrets {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    /// PKCS#8, base64.
    #[serde(default)]
    dpop_key: Option<String>,
}

/// OAuth records, split between the store and the keyring.
pub(crate) struct TokenVault {
    secrets: Secrets,
}

fn tokens_name(server: &str) -> String {
    format!("oauth:{server}:tokens")
}

fn client_name(server: &str, issuer: &str, client_id: &str) -> String {
    format!("oauth:{server}:client:{issuer} {client_id}")
}

impl TokenVault {
    pub(crate) fn new(secrets: Secrets) -> Self {
        Self { secrets }
    }

    /// The secrets, for a client secret the config names.
    pub(crate) fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The tokens of `server` granted for `url`; `None` when there are none
    /// or their secret part is gone (a new sign-in is needed).
    pub(crate) fn tokens(
        &self,
        server: &str,
        url: &str,
    ) -> Result<Option<OAuthTokenRecord>, SecretError> {
        let Some(mut record) = self.secrets.store().oauth_tokens(server, url)? else {
            return Ok(None);
        };
        if !record.access_token.is_empty() {
            return Ok(Some(record)); // not moved yet
        }
        let Some(text) = self.secrets.value(&tokens_name(server))? else {
            return Ok(None);
        };
        let part: TokenSecrets = match serde_json::from_str(&text) {
            Ok(p) => p,
            Err(_) => return Ok(None),
        };
        record.access_token = part.access_token;
        record.refresh_token = part.refresh_token;
        record.dpop_key = part.dpop_key.and_then(|k| B64.decode(k).ok());
        Ok(Some(record))
    }

    /// Keeps `record` as the tokens of `server`: its secrets in the keyring
    /// first, then the rest in the store.
    pub(crate) fn save_tokens(
        &self,
        server: &str,
        record: &OAuthTokenRecord,
    ) -> Result<(), SecretError> {
        let part = TokenSecrets {
            access_token: record.access_token.clone(),
            refresh_token: record.refresh_token.clone(),
            dpop_key: record.dpop_key.as_deref().map(|k| B64.encode(k)),
        };
        let text = serde_json::to_string(&part).expect("plain strings serialize");
        self.secrets.store_value(&tokens_name(server), &text)?;
        let bare = OAuthTokenRecord {
            access_token: String::new(),
            refresh_token: None,
            dpop_key: None,
            ..record.clone()
        };
        Ok(self.secrets.store().save_oauth_tokens(server, &bare)?)
    }

    /// The client registered for `server` at `issuer` with `redirect_uri`.
    pub(crate) fn client(
        &self,
        server: &str,
        issuer: &str,
        redirect_uri: &str,
    ) -> Result<Option<OAuthClientRecord>, SecretError> {
        let record = self
            .secrets
            .store()
            .oauth_client(server, issuer, redirect_uri)?;
        self.fill_client(server, record)
    }

    /// The client `client_id` of `server` at `issuer`.
    pub(crate) fn client_by_id(
        &self,
        server: &str,
        issuer: &str,
        client_id: &str,
    ) -> Result<Option<OAuthClientRecord>, SecretError> {
        let record = self
            .secrets
            .store()
            .oauth_client_by_id(server, issuer, client_id)?;
        self.fill_client(server, record)
    }

    fn fill_client(
        &self,
        server: &str,
        record: Option<OAuthClientRecord>,
    ) -> Result<Option<OAuthClientRecord>, SecretError> {
        let Some(mut record) = record else {
            return Ok(None);
        };
        if record.client_secret.is_none() && record.auth_method != "none" {
            record.client_secret =
                self.secrets
                    .value(&client_name(server, &record.issuer, &record.client_id))?;
        }
        Ok(Some(record))
    }

    /// Keeps a client record: its secret in the keyring, the rest in the store.
    pub(crate) fn save_client(
        &self,
        server: &str,
        record: &OAuthClientRecord,
    ) -> Result<(), SecretError> {
        if let Some(secret) = &record.client_secret {
            self.secrets.store_value(
                &client_name(server, &record.issuer, &record.client_id),
                secret,
            )?;
        }
        let bare = OAuthClientRecord {
            client_secret: None,
            ..record.clone()
        };
        Ok(self.secrets.store().save_oauth_client(server, &bare)?)
    }

    /// Moves tokens and client secrets still in the store into the keyring;
    /// one line per record moved.
    pub(crate) fn move_plain(&self) -> Result<Vec<String>, SecretError> {
        let store = self.secrets.store();
        let mut moved = Vec::new();
        for (server, record) in store.plain_oauth_tokens()? {
            self.save_tokens(&server, &record)?;
            moved.push(format!("the OAuth tokens of `{server}`"));
        }
        for (server, record) in store.plain_oauth_clients()? {
            self.save_client(&server, &record)?;
            moved.push(format!(
                "the OAuth client secret of `{server}` at {}",
                record.issuer
            ));
        }
        Ok(moved)
    }
}
