//! Why signing in to an upstream failed, with what a person can do about it.
//!
//! Messages never carry tokens, secrets or authorization codes.

/// A failed step of the OAuth sign-in to an HTTP upstream.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// Metadata could not be fetched or read.
    #[error("it needs sign-in, but reading the {what} failed: {message}")]
    Discovery {
        /// Which document (protected resource metadata, authorization server metadata).
        what: &'static str,
        /// What went wrong, with the URLs tried.
        message: String,
        /// What to do.
        hint: String,
    },
    /// The authorization server refused a request.
    #[error("the authorization server refused {what}: {message}")]
    Refused {
        /// Which request (client registration, the code exchange, a token refresh).
        what: &'static str,
        /// Its `error` and `error_description`, or the HTTP status.
        message: String,
        /// What to do.
        hint: String,
    },
    /// Something did not match what the metadata promised (a likely attack or misconfiguration).
    #[error("sign-in stopped: {message}")]
    Untrusted {
        /// What did not match.
        message: String,
        /// What to do.
        hint: String,
    },
    /// Repeated sign-ins did not get the access the server wants.
    #[error("it still refuses access after {attempts} sign-ins ({reason})")]
    GaveUp {
        /// Server name.
        server: String,
        /// How many authorizations were tried.
        attempts: u32,
        /// The server's last answer.
        reason: String,
    },
    /// A sign-in was started and ended without success.
    #[error("sign-in did not complete: {message}")]
    Incomplete {
        /// Server name.
        server: String,
        /// Why.
        message: String,
    },
    /// This gateway has no HTTP listener to receive the sign-in (`portcullis stdio`).
    #[error("it needs sign-in, and this gateway has no HTTP listener for the authorization server to send the browser back to")]
    NoListener {
        /// Server name.
        server: String,
    },
    /// No authorization flow is waiting for this callback.
    #[error("no sign-in is waiting for this answer (it expired, or was already used)")]
    UnknownState,
}

impl crate::hint::Hinted for OAuthError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Discovery { hint, .. } => Some(hint.clone()),
            Self::Refused { hint, .. } => Some(hint.clone()),
            Self::Untrusted { hint, .. } => Some(hint.clone()),
            Self::GaveUp { server, .. } => Some(format!("run `portcullis upstream login --name {server}` to try again, or check the scopes your account may grant")),
            Self::Incomplete { server, .. } => Some(format!("run `portcullis upstream login --name {server}` to try again")),
            Self::NoListener { server, .. } => Some(format!("sign in once with `portcullis serve` running (`portcullis upstream login --name {server}`); the tokens are kept in the database and used here too")),
            Self::UnknownState => Some("start again with `portcullis upstream login --name <server>`".to_owned()),
        }
    }
}
