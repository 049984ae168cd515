//! Gateway errors, and the one function that turns an error into a
//! JSON-RPC error code and message.

use crate::config::ConfigError;
use crate::hint::Hinted;
use crate::protocol::ErrorCode;
use crate::upstream::UpstreamError;

/// What a gateway operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The listen address is taken.
    #[error("cannot listen on {addr}: the address is in use")]
    PortInUse {
        /// The address.
        addr: std::net::SocketAddr,
    },
    /// Binding failed for another reason.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The configuration is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An upstream failed.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// No such tool.
    #[error("unknown tool `{name}`")]
    UnknownTool {
        /// The name asked for.
        name: String,
    },
    /// No such server.
    #[error("unknown server `{name}`")]
    UnknownServer {
        /// The name asked for.
        name: String,
    },
    /// The request's params are wrong.
    #[error("{0}")]
    InvalidParams(String),
    /// What a person gave (a form, a command's options) is wrong, and what to
    /// give instead.
    #[error("{message}")]
    InvalidInput {
        /// What is wrong.
        message: String,
        /// What to give instead.
        hint: String,
    },
    /// No server lists this resource or offers a template for it.
    #[error("resource `{uri}` not found: no server lists it or offers a template for it")]
    ResourceNotFound {
        /// The URI asked for.
        uri: String,
    },
    /// Every session slot is taken by a session that is busy or streaming.
    #[error("the gateway already has {limit} client sessions, all of them in use")]
    TooManySessions {
        /// `[limits] max_sessions`.
        limit: usize,
    },
    /// No upstream can answer this method.
    #[error("method `{method}` is not offered: {why}")]
    MethodNotFound {
        /// The method.
        method: String,
        /// Why it cannot be routed.
        why: String,
    },
    /// The trust store failed.
    #[error("{error}")]
    Store {
        /// The cause.
        error: crate::store::StoreError,
    },
    /// The search index failed.
    #[error("the search index failed: {0}")]
    Search(crate::search::SearchError),
    /// The tool may not be called (not approved, changed, blocked).
    #[error("{message}")]
    NotCallable {
        /// Why, and how a person can allow it.
        message: String,
    },
    /// An approval named definitions the server no longer lists. Nothing
    /// was approved; `current` holds what the server lists now, with diff
    /// and findings, for the person to review instead.
    #[error("{} of server `{server}` changed since you looked; nothing was approved", match tools.as_slice() { [one] => format!("the definition of `{one}`"), _ => format!("the definitions of {}", tools.join(", ")) })]
    ChangedSinceShown {
        /// The server.
        server: String,
        /// The tools whose definitions changed.
        tools: Vec<String>,
        /// Each of them as it is now.
        current: Vec<super::ToolDetail>,
    },
    /// The person paused the gateway.
    #[error("Portcullis is paused: `{method}` was not passed on to any server")]
    Paused {
        /// The refused method.
        method: String,
    },
    /// Configuring an MCP client failed.
    #[error(transparent)]
    Client(#[from] crate::clients::ClientError),
    /// Signing in to an upstream failed.
    #[error("upstream `{server}`: {source}")]
    SignIn {
        /// Server name.
        server: String,
        /// What failed, with a hint.
        source: crate::oauth::OAuthError,
    },
    /// A secret could not be read, stored or removed.
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    /// The gateway is stopping, so the request was not finished.
    #[error("the gateway is shutting down; `{what}` was not finished")]
    ShuttingDown {
        /// What was cut short.
        what: String,
    },
    /// A task the gateway ran for the request ended abnormally (it panicked
    /// or was cancelled): a bug, not the request's fault.
    #[error("{what} stopped unexpectedly: {source}")]
    TaskFailed {
        /// What the task did.
        what: &'static str,
        /// How it ended.
        source: tokio::task::JoinError,
    },
    /// An upstream of the stateless era asked for input (sampling,
    /// elicitation, roots) that the client did not give.
    #[error("upstream `{server}` needed input from the client: {why}")]
    InputNotGiven {
        /// Server name.
        server: String,
        /// What happened.
        why: String,
    },
    /// An MCP registry failed, or its server cannot be added as asked.
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    /// A file the gateway keeps could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl GatewayError {
    /// The refusal of a call to `name` (`tool` of `server`), saying why and what to do.
    pub(crate) fn not_callable(
        name: &str,
        callability: &crate::trust::Callability,
        server: &str,
        tool: &str,
    ) -> Self {
        Self::NotCallable {
            message: format!(
                "`{name}` cannot be called: {}, or in the Portcullis window",
                callability.explain(server, tool)
            ),
        }
    }

    /// `message` is wrong; `hint` says what to give instead.
    pub fn invalid(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::InvalidInput {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The JSON-RPC error's message: what went wrong, and what to do on its
    /// last line (`hint: …`), since an agent reads only the text.
    pub fn rpc_message(&self) -> String {
        crate::hint::with_hint(self)
    }

    /// Machine-readable detail for the JSON-RPC error's `data`.
    pub fn rpc_data(&self) -> Option<serde_json::Value> {
        match self {
            Self::ResourceNotFound { uri } => Some(serde_json::json!({ "uri": uri })),
            _ => None,
        }
    }

    /// The JSON-RPC error code for this error: chosen here and nowhere else.
    pub fn rpc_code(&self) -> ErrorCode {
        match self {
            Self::UnknownTool { .. }
            | Self::UnknownServer { .. }
            | Self::InvalidParams(_)
            | Self::InputNotGiven { .. }
            | Self::InvalidInput { .. }
            | Self::ResourceNotFound { .. } => ErrorCode::InvalidParams,
            Self::MethodNotFound { .. } => ErrorCode::MethodNotFound,
            Self::TooManySessions { .. } => ErrorCode::InvalidRequest,
            Self::NotCallable { .. } => ErrorCode::NotApproved,
            Self::Paused { .. } => ErrorCode::GatewayPaused,
            Self::Upstream(
                UpstreamError::Timeout { .. } | UpstreamError::CancelledWaiting { .. },
            ) => ErrorCode::RequestTimeout,
            Self::Upstream(UpstreamError::Busy { .. }) => ErrorCode::UpstreamBusy,
            Self::Upstream(
                UpstreamError::Unavailable { .. }
                | UpstreamError::Died { .. }
                | UpstreamError::Handshake { .. }
                | UpstreamError::Transport { .. },
            ) => ErrorCode::UpstreamUnavailable,
            _ => ErrorCode::InternalError,
        }
    }
}

impl Hinted for GatewayError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::PortInUse { .. } => Some("another Portcullis may be running (`portcullis upstream list` asks it); or choose another address with --listen 127.0.0.1:0".to_owned()),
            Self::InvalidInput { hint, .. } => Some(hint.clone()),
            Self::Config(e) => e.hint(),
            Self::Upstream(e) => e.hint(),
            Self::Client(e) => e.hint(),
            Self::Registry(e) => e.hint(),
            Self::Secret(e) => e.hint(),
            Self::Store { error } => error.hint(),
            Self::Search(e) => e.hint(),
            Self::SignIn { source, .. } => source.hint(),
            Self::UnknownTool { .. } => Some("tools/list (or `portcullis tools list`) shows the tools there are".to_owned()),
            Self::UnknownServer { .. } => Some("`portcullis upstream list` shows the configured servers".to_owned()),
            Self::ResourceNotFound { .. } => Some("resources/list and resources/templates/list show what there is".to_owned()),
            Self::TooManySessions { .. } => Some("close sessions you no longer need (DELETE /mcp), or raise `max_sessions` in [limits]".to_owned()),
            Self::ChangedSinceShown { .. } => Some("review the new definition shown with this answer (or with `portcullis tools pending`), then approve what you read".to_owned()),
            Self::Paused { .. } => Some("the person at this machine paused the gateway; resume it from the Portcullis tray menu (Resume gateway) or with POST /api/v1/gateway/resume".to_owned()),
            Self::TaskFailed { .. } => Some("this is a bug in Portcullis: the gateway's log (PORTCULLIS_LOG=debug) has more; please report it".to_owned()),
            Self::InputNotGiven { .. } => Some("use a client that declares and answers sampling, elicitation and roots, or call a tool that needs none".to_owned()),
            _ => None,
        }
    }
}
