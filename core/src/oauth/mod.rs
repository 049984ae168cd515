//! Portcullis as an OAuth 2.1 client of HTTP upstreams (the MCP
//! authorization spec): when an upstream answers 401 (or 403
//! `insufficient_scope`), find its authorization server, pick a client
//! identity (pre-registered, a client id metadata document, or dynamic
//! registration), and run the authorization code flow with PKCE (S256) and
//! the `resource` parameter. The browser step is a person's: the
//! authorization URL is shown as the upstream's "needs sign-in" state, and
//! the authorization server redirects to the gateway's own loopback listener
//! (`/oauth/callback`, RFC 8252), which finishes the flow.
//!
//! Guarantees: tokens and client secrets live only in the store (never in
//! logs or error messages); tokens are bound to the server's URL; expired
//! tokens are refreshed when a refresh token allows; at most
//! [`MAX_AUTHORIZATIONS`] authorizations in a row without a successful
//! request, so a server that keeps refusing cannot loop the person.

mod discovery;
mod dpop;
mod error;
mod flow;
mod machine;
mod token_endpoint;
mod urls;
mod vault;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::config::OAuthConfig;
use crate::secrets::Secrets;
use crate::store::{OAuthTokenRecord, UnixMillis};

pub(crate) use discovery::Challenge;
use dpop::DpopKey;
pub use error::OAuthError;
use flow::Pending;
pub use urls::is_web_link;

/// Authorizations in a row (without a request succeeding) before giving up.
pub const MAX_AUTHORIZATIONS: u32 = 3;
/// A token this close to its expiry is refreshed before use.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);
/// The path of the gateway's callback route.
pub(crate) const CALLBACK_PATH: &str = "/oauth/callback";

/// What every upstream's OAuth client shares: the store, an HTTP client,
/// the redirect URI (known once the gateway listens) and the flows waiting
/// for their callback, by `state`.
pub(crate) struct OAuthContext {
    vault: vault::TokenVault,
    http: reqwest::Client,
    redirect: watch::Sender<Option<String>>,
    flows: Mutex<HashMap<String, Arc<OAuthClient>>>,
}

impl OAuthContext {
    pub(crate) fn new(secrets: Secrets) -> Arc<Self> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(crate::transport::POOL_IDLE)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Arc::new(Self {
            vault: vault::TokenVault::new(secrets),
            http,
            redirect: watch::channel(None).0,
            flows: Mutex::default(),
        })
    }

    /// Moves tokens and client secrets an older Portcullis kept in the store
    /// to where secrets are kept; what moved.
    pub(crate) fn move_plain(&self) -> Result<Vec<String>, crate::secrets::SecretError> {
        self.vault.move_plain()
    }

    /// The gateway listens at `addr`: the redirect URI is on it.
    pub(crate) fn set_listen_addr(&self, addr: SocketAddr) {
        let host = if addr.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            addr.ip().to_string()
        };
        let host = if addr.is_ipv6() && !addr.ip().is_unspecified() {
            format!("[{host}]")
        } else {
            host
        };
        self.redirect.send_replace(Some(format!(
            "http://{host}:{}{CALLBACK_PATH}",
            addr.port()
        )));
    }

    pub(super) async fn redirect_uri(&self, server: &str) -> Result<String, OAuthError> {
        let mut rx = self.redirect.subscribe();
        let found =
            match tokio::time::timeout(Duration::from_secs(30), rx.wait_for(Option::is_some)).await
            {
                Ok(Ok(v)) => v.clone(),
                _ => None,
            };
        match found {
            Some(v) => Ok(v),
            None => Err(OAuthError::NoListener {
                server: server.to_owned(),
            }),
        }
    }

    /// The browser came back to the callback: finish the flow it belongs to.
    /// Returns the server's name.
    pub(crate) async fn complete(
        &self,
        query: &HashMap<String, String>,
    ) -> Result<String, OAuthError> {
        let state = query.get("state").cloned().unwrap_or_default();
        let client = self
            .flows
            .lock()
            .remove(&state)
            .ok_or(OAuthError::UnknownState)?;
        let result = client.finish(&state, query).await;
        result.map(|()| client.server.clone())
    }
}

/// Called with the sign-in URL while one waits for a person, `None` after.
pub(crate) type SignInObserver = Arc<dyn Fn(Option<String>) + Send + Sync>;

/// One upstream's OAuth client.
pub(crate) struct OAuthClient {
    ctx: Arc<OAuthContext>,
    server: String,
    url: String,
    config: OAuthConfig,
    token: Mutex<Option<OAuthTokenRecord>>,
    pending: Mutex<Option<Pending>>,
    /// Bumped whenever a flow ends; `outcome` says how.
    settled: watch::Sender<u64>,
    outcome: Mutex<Option<Result<(), OAuthError>>>,
    authorizations: AtomicU32,
    last_refusal: Mutex<String>,
    /// The scopes asked for so far (a step-up asks for their union with the new ones).
    scopes: Mutex<Vec<String>>,
    starting: tokio::sync::Mutex<()>,
    refreshing: tokio::sync::Mutex<()>,
    observer: Mutex<Option<SignInObserver>>,
    /// The key the current token is bound to (DPoP), and the server's last nonce.
    dpop: Mutex<Option<Arc<DpopKey>>>,
    nonce: Mutex<Option<String>>,
}

impl OAuthClient {
    /// The client of upstream `server` at `url`, with its stored tokens.
    pub(crate) fn new(
        ctx: Arc<OAuthContext>,
        server: &str,
        url: &str,
        config: OAuthConfig,
    ) -> Arc<Self> {
        let token = match ctx.vault.tokens(server, url) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(server, "reading its stored sign-in failed: {e}");
                None
            }
        };
        let dpop = token
            .as_ref()
            .and_then(|t| t.dpop_key.as_deref())
            .and_then(|k| DpopKey::from_pkcs8(k).ok())
            .map(Arc::new);
        let scopes = token
            .as_ref()
            .and_then(|t| t.scope.clone())
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        Arc::new(Self {
            ctx,
            server: server.to_owned(),
            url: url.to_owned(),
            config,
            token: Mutex::new(token),
            pending: Mutex::new(None),
            settled: watch::channel(0).0,
            outcome: Mutex::new(None),
            authorizations: AtomicU32::new(0),
            last_refusal: Mutex::new(String::new()),
            scopes: Mutex::new(scopes),
            starting: tokio::sync::Mutex::new(()),
            refreshing: tokio::sync::Mutex::new(()),
            observer: Mutex::new(None),
            dpop: Mutex::new(dpop),
            nonce: Mutex::new(None),
        })
    }

    /// The client secret the config gives, a secret by name looked up.
    /// A secret that cannot be read is left out (and said in the log): the
    /// authorization server then refuses the client and says why.
    pub(crate) fn configured_secret(&self) -> Option<String> {
        match self.config.client_secret.as_ref()? {
            crate::config::ValueOrSecret::Plain(v) => Some(v.clone()),
            crate::config::ValueOrSecret::Secret(name) => {
                match self.ctx.vault.secrets().get(name) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        tracing::warn!(server = self.server, "its client secret: {e}");
                        None
                    }
                }
            }
        }
    }

    /// Who hears about sign-in URLs (the upstream's status).
    pub(crate) fn observe(&self, observer: SignInObserver) {
        *self.observer.lock() = Some(observer);
    }

    fn tell(&self, url: Option<String>) {
        let observer = self.observer.lock().clone();
        if let Some(o) = observer {
            o(url);
        }
    }

    /// The URL a person should open, while a sign-in waits for one.
    pub(crate) fn sign_in_url(&self) -> Option<String> {
        self.pending
            .lock()
            .as_ref()
            .map(|p| p.url.clone())
            .filter(|u| is_web_link(u))
    }

    /// The `Authorization` header (and the `DPoP` proof) that present `token`
    /// on a `method` request to `url`.
    pub(crate) fn authorization_headers(
        &self,
        method: &str,
        url: &str,
        token: &str,
    ) -> Vec<(&'static str, String)> {
        let key = self.dpop.lock().clone();
        let Some(key) = key else {
            return vec![("authorization", format!("Bearer {token}"))];
        };
        let nonce = self.nonce.lock().clone();
        match key.proof(method, url, Some(token), nonce.as_deref()) {
            Ok(proof) => vec![("authorization", format!("DPoP {token}")), ("dpop", proof)],
            Err(e) => {
                tracing::warn!(server = self.server, "{e}");
                vec![("authorization", format!("DPoP {token}"))]
            }
        }
    }

    /// The server gave a DPoP nonce (with a `use_dpop_nonce` refusal, or any answer);
    /// returns whether it is new.
    pub(crate) fn set_nonce(&self, nonce: &str) -> bool {
        let mut n = self.nonce.lock();
        let new = n.as_deref() != Some(nonce);
        *n = Some(nonce.to_owned());
        new
    }

    /// The access token to send now, without refreshing.
    pub(crate) fn current_token(&self) -> Option<String> {
        self.token.lock().as_ref().map(|t| t.access_token.clone())
    }

    /// The access token to send, refreshed first when it is about to expire.
    pub(crate) async fn token(&self) -> Option<String> {
        let expiring = {
            let t = self.token.lock();
            let t = t.as_ref()?;
            t.refresh_token.is_some()
                && t.expires_at
                    .is_some_and(|e| e.0 <= UnixMillis::now().0 + EXPIRY_MARGIN.as_millis() as i64)
        };
        if expiring {
            let before = self.current_token();
            if let Err(e) = self.refresh(before.as_deref()).await {
                tracing::info!(
                    server = self.server,
                    "refreshing its access token failed: {e}"
                );
            }
        }
        self.current_token()
    }

    /// A request that carried our token succeeded: the sign-in works.
    pub(crate) fn note_success(&self) {
        self.authorizations.store(0, Ordering::Relaxed);
    }

    /// The upstream refused a request that carried `sent` (or no token):
    /// refresh, or sign in again, and return once a retry makes sense.
    pub(crate) async fn on_challenge(
        self: &Arc<Self>,
        status: u16,
        header: Option<&str>,
        sent: Option<&str>,
    ) -> Result<(), OAuthError> {
        let challenge = Challenge::parse(header);
        let current = self.current_token();
        if current.is_some() && current.as_deref() != sent {
            return Ok(()); // another request already got a newer token
        }
        *self.last_refusal.lock() = format!(
            "HTTP {status}{}",
            challenge
                .error
                .as_deref()
                .map(|e| format!(" {e}"))
                .unwrap_or_default()
        );
        let step_up = status == 403 || challenge.error.as_deref() == Some("insufficient_scope");
        if !step_up
            && sent.is_some()
            && self.same_issuer(&challenge).await
            && self.refresh(sent).await.is_ok()
        {
            return Ok(());
        }
        let generation = self.begin(Some(challenge), false).await?;
        self.wait(generation).await
    }

    /// Whether the server still names the authorization server that issued our
    /// token: after a move, the old one's refresh token (and client) must not be used.
    async fn same_issuer(&self, challenge: &Challenge) -> bool {
        let Some(issuer) = self.token.lock().as_ref().map(|t| t.issuer.clone()) else {
            return false;
        };
        match discovery::resource_metadata(&self.ctx.http, &self.url, challenge).await {
            Ok(Some(prm)) => {
                match prm.authorization_servers.first() {
                    Some(now) if *now != issuer => {
                        tracing::info!(server = self.server, "its authorization server moved from {issuer} to {now}; signing in there");
                        false
                    }
                    _ => true,
                }
            }
            _ => true,
        }
    }

    /// Starts a sign-in a person asked for (`portcullis upstream login`), or
    /// joins the one waiting; returns its URL, or `None` when no person is
    /// needed (the client credentials grant signed in already).
    pub(crate) async fn sign_in(self: &Arc<Self>) -> Result<Option<String>, OAuthError> {
        self.authorizations.store(0, Ordering::Relaxed);
        let generation = self.begin(None, true).await?;
        if let Some(url) = self.sign_in_url() {
            return Ok(Some(url));
        }
        match self.outcome.lock().clone() {
            Some(Ok(())) if *self.settled.borrow() > generation => Ok(None),
            Some(Err(e)) => Err(e),
            _ => Err(OAuthError::Incomplete {
                server: self.server.clone(),
                message: "the sign-in ended before it could be shown".into(),
            }),
        }
    }

    /// Waits until the flow that was current at `generation` ends.
    async fn wait(&self, generation: u64) -> Result<(), OAuthError> {
        let mut rx = self.settled.subscribe();
        let _ = rx.wait_for(|g| *g > generation).await;
        self.outcome.lock().clone().unwrap_or(Ok(()))
    }

    /// Waits until no sign-in is pending.
    pub(crate) async fn settled(&self) {
        let generation = *self.settled.borrow();
        if self.sign_in_url().is_some() {
            let _ = self.wait(generation).await;
        }
    }

    /// Starts a flow unless one is pending; returns the generation to wait past.
    async fn begin(
        self: &Arc<Self>,
        challenge: Option<Challenge>,
        asked: bool,
    ) -> Result<u64, OAuthError> {
        let _one = self.starting.lock().await;
        let generation = *self.settled.borrow();
        if self.sign_in_url().is_some() {
            return Ok(generation);
        }
        let attempts = self.authorizations.load(Ordering::Relaxed);
        if attempts >= MAX_AUTHORIZATIONS && !asked {
            let reason = self.last_refusal.lock().clone();
            return Err(OAuthError::GaveUp {
                server: self.server.clone(),
                attempts,
                reason,
            });
        }
        let prepared = flow::prepare(self, challenge.unwrap_or_default()).await;
        if let Err(OAuthError::Refused { .. }) = &prepared {
            // Refused credentials do not get better by asking again (and some servers
            // forbid it): stop until a person signs in again or the config changes.
            self.authorizations
                .store(MAX_AUTHORIZATIONS, Ordering::Relaxed);
        }
        let pending = match prepared? {
            flow::Prepared::Browser(pending) => pending,
            flow::Prepared::Machine(record) => {
                // The client credentials grant: no person, the token is here already.
                self.authorizations.fetch_add(1, Ordering::Relaxed);
                self.save(record);
                tracing::info!(
                    server = self.server,
                    "signed in with its client credentials"
                );
                self.settle(Ok(()));
                return Ok(generation);
            }
        };
        self.authorizations.fetch_add(1, Ordering::Relaxed);
        let url = pending.url.clone();
        self.ctx
            .flows
            .lock()
            .insert(pending.state.clone(), self.clone());
        *self.pending.lock() = Some(pending);
        tracing::info!(
            server = self.server,
            "needs sign-in: open {url} (or run `portcullis upstream login --name {}`)",
            self.server
        );
        self.tell(Some(url));
        Ok(generation)
    }

    /// Ends the pending flow with `outcome`.
    fn settle(&self, outcome: Result<(), OAuthError>) {
        let old = self.pending.lock().take();
        if let Some(p) = old {
            self.ctx.flows.lock().remove(&p.state);
        }
        *self.outcome.lock() = Some(outcome);
        self.settled.send_modify(|g| *g += 1);
        self.tell(None);
    }

    /// The callback for this client's flow arrived.
    async fn finish(&self, state: &str, query: &HashMap<String, String>) -> Result<(), OAuthError> {
        let pending = self
            .pending
            .lock()
            .as_ref()
            .filter(|p| p.state == state)
            .cloned();
        let Some(pending) = pending else {
            return Err(OAuthError::UnknownState);
        };
        let result = flow::exchange(self, &pending, query).await;
        match &result {
            Ok(record) => {
                self.save(record.clone());
                tracing::info!(server = self.server, "signed in");
                self.settle(Ok(()));
            }
            Err(e) => {
                tracing::warn!(server = self.server, "sign-in failed: {e}");
                self.settle(Err(e.clone()));
            }
        }
        result.map(|_| ())
    }

    fn save(&self, record: OAuthTokenRecord) {
        *self.dpop.lock() = record
            .dpop_key
            .as_deref()
            .and_then(|k| DpopKey::from_pkcs8(k).ok())
            .map(Arc::new);
        if let Err(e) = self.ctx.vault.save_tokens(&self.server, &record) {
            tracing::warn!(
                server = self.server,
                "storing its tokens failed ({e}); this sign-in lasts until the gateway stops"
            );
        }
        *self.token.lock() = Some(record);
    }

    /// Trades the refresh token for a new access token (once, however many ask).
    async fn refresh(&self, stale: Option<&str>) -> Result<(), OAuthError> {
        let _one = self.refreshing.lock().await;
        if self.current_token().as_deref() != stale {
            return Ok(());
        }
        let Some(old) = self.token.lock().clone() else {
            return Err(OAuthError::Incomplete {
                server: self.server.clone(),
                message: "no token to refresh".into(),
            });
        };
        match flow::refresh(self, &old).await {
            Ok(record) => {
                self.save(record);
                Ok(())
            }
            Err(e) => {
                // A refused refresh token is spent: sign in again from now on.
                let mut t = self.token.lock();
                if let Some(t) = t.as_mut() {
                    t.refresh_token = None;
                }
                Err(e)
            }
        }
    }
}
