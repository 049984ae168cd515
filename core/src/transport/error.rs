//! Why an upstream connection could not be made.

/// Failure to start or reach an upstream.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The program does not exist.
    #[error("command `{command}` was not found")]
    CommandNotFound {
        /// The program.
        command: String,
    },
    /// The program could not be started.
    #[error("cannot start `{command}`: {source}")]
    Spawn {
        /// The program.
        command: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The working directory does not exist.
    #[error("working directory {} does not exist", path.display())]
    NoCwd {
        /// The folder.
        path: std::path::PathBuf,
    },
    /// The HTTP server could not be reached.
    #[error("cannot reach {url}: {message}")]
    Unreachable {
        /// The URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// The HTTP server answered with an error.
    #[error("{url} answered HTTP {status}: {body}")]
    Status {
        /// The URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Start of the body.
        body: String,
    },
    /// The server wants a sign-in that did not succeed (or has not yet).
    #[error("{source}")]
    Authorization {
        /// What failed, with a hint.
        #[from]
        source: crate::oauth::OAuthError,
    },
    /// The server did not follow the transport's rules.
    #[error("{url}: {message}")]
    Protocol {
        /// The URL.
        url: String,
        /// What was wrong.
        message: String,
    },
}

impl crate::hint::Hinted for TransportError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Authorization { source } => crate::hint::Hinted::hint(source),
            Self::CommandNotFound { .. } => {
                Some("install it, or give its full path in `command` (PATH is searched)".to_owned())
            }
            Self::NoCwd { .. } => Some("fix `cwd` for this server".to_owned()),
            Self::Unreachable { .. } => {
                Some("check that the server is running and the URL is right".to_owned())
            }
            _ => None,
        }
    }
}
