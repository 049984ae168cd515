//! Client tokens on `/mcp`: `portcullis client add NAME` makes a bearer
//! token for one client; the endpoint asks [`Gateway::caller`] who presents
//! it, and the activity log and metrics name that client, not the name it
//! claims. `[gateway] require_client_token` decides whether a request
//! without one is refused; unset, it is as soon as one token exists (Connect
//! writes one into each client's config), so a person who never makes one
//! loses nothing, and one who does is protected from other local processes.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use serde::Serialize;

use super::admission::{Caller, Refusal};
use super::{Gateway, GatewayError};
use crate::clients::{check_client_name, new_token, token_hash};
use crate::store::{Store, UnixMillis};

/// The tokens the gateway accepts, by hash: a copy of the store's, for
/// the hot path.
#[derive(Default)]
pub(crate) struct ClientTokens {
    by_hash: RwLock<Arc<HashMap<String, Caller>>>,
}

impl ClientTokens {
    /// Reads the tokens from `store` again.
    pub(crate) fn reload(&self, store: &Store) {
        match store.clients() {
            Ok(rows) => {
                let map = rows
                    .into_iter()
                    .map(|r| {
                        let caller = Caller {
                            name: Arc::from(r.name),
                            profile: r.profile.map(Arc::from),
                        };
                        (r.token_hash, caller)
                    })
                    .collect();
                *self.by_hash.write() = Arc::new(map);
            }
            Err(e) => {
                tracing::error!("reading the client tokens failed ({e}); keeping the last ones");
            }
        }
    }

    fn snapshot(&self) -> Arc<HashMap<String, Caller>> {
        self.by_hash.read().clone()
    }
}

/// A new client and its token, shown once.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct NewClient {
    /// The client's name.
    pub name: String,
    /// Its bearer token. Only its hash is kept: this is the one time it is seen.
    pub token: String,
    /// The profile it is bound to.
    pub profile: Option<String>,
}

/// A client with a token, as a person sees it (never the token).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ClientView {
    /// Its name.
    pub name: String,
    /// The profile its token is bound to.
    pub profile: Option<String>,
    /// When its token was made.
    pub created_at: UnixMillis,
}

/// Makes a token for client `name` in `store` (replacing the one it had,
/// which stops working), bound to `profile`. A running gateway's
/// [`Gateway::add_client`] is this, then reloads its tokens.
pub fn add_client(
    store: &Store,
    name: &str,
    profile: Option<&str>,
) -> Result<NewClient, GatewayError> {
    check_client_name(name).map_err(|why| {
        GatewayError::invalid(
            format!("`{name}` is not a client name: {why}"),
            "e.g. `cursor` or `claude-code`",
        )
    })?;
    let token = new_token();
    record_token(store, name, &token, profile)?;
    Ok(NewClient {
        name: name.to_owned(),
        token,
        profile: profile.map(str::to_owned),
    })
}

/// Keeps the hash of `token` as client `name`'s (never the token).
fn record_token(
    store: &Store,
    name: &str,
    token: &str,
    profile: Option<&str>,
) -> Result<(), GatewayError> {
    store
        .put_client(name, &token_hash(token), profile)
        .map_err(|error| GatewayError::Store { error })
}

/// Every client with a token in `store`.
pub fn list_clients(store: &Store) -> Result<Vec<ClientView>, GatewayError> {
    let rows = store
        .clients()
        .map_err(|error| GatewayError::Store { error })?;
    Ok(rows
        .into_iter()
        .map(|r| ClientView {
            name: r.name,
            profile: r.profile,
            created_at: r.created_at,
        })
        .collect())
}

/// Removes client `name` from `store`; whether it existed.
pub fn remove_client(store: &Store, name: &str) -> Result<bool, GatewayError> {
    store
        .remove_client(name)
        .map_err(|error| GatewayError::Store { error })
}

impl Gateway {
    /// Makes a token for client `name` (replacing the one it had, which
    /// stops working at once), bound to `profile`.
    pub fn add_client(&self, name: &str, profile: Option<&str>) -> Result<NewClient, GatewayError> {
        if let Some(p) = profile {
            super::profiles::check_profile(&self.settings(), p)?;
        }
        let added = add_client(&self.inner.store, name, profile)?;
        self.inner.clients.tokens.reload(&self.inner.store);
        tracing::info!(client = name, "a client token was made");
        Ok(added)
    }

    /// Records `token` (made by the caller, e.g. written into a client's
    /// config already) as client `name`'s.
    pub(super) fn put_client_token(
        &self,
        name: &str,
        token: &str,
        profile: Option<&str>,
    ) -> Result<(), GatewayError> {
        record_token(&self.inner.store, name, token, profile)?;
        self.inner.clients.tokens.reload(&self.inner.store);
        Ok(())
    }

    /// Every client with a token.
    pub fn clients(&self) -> Result<Vec<ClientView>, GatewayError> {
        list_clients(&self.inner.store)
    }

    /// Removes client `name`: its token stops working at once. Whether it existed.
    pub fn remove_client(&self, name: &str) -> Result<bool, GatewayError> {
        let removed = remove_client(&self.inner.store, name)?;
        self.inner.clients.tokens.reload(&self.inner.store);
        Ok(removed)
    }
    /// Who presents `bearer` (the `Authorization` header's token, if any):
    /// the client it names, none when no token is sent and none is
    /// required, or why the request is refused.
    pub fn caller(&self, bearer: Option<&str>) -> Result<Option<Caller>, Refusal> {
        let tokens = self.inner.clients.tokens.snapshot();
        match bearer {
            Some(token) => tokens
                .get(&token_hash(token))
                .cloned()
                .map(Some)
                .ok_or(Refusal::Unknown),
            None => {
                let required = self
                    .settings()
                    .require_client_token
                    .unwrap_or(!tokens.is_empty());
                if required {
                    Err(Refusal::Missing)
                } else {
                    Ok(None)
                }
            }
        }
    }
}
