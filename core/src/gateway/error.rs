//! Gateway errors, and the one function that turns an error into a
//! JSON-RPC error code and message.

use crate::config::ConfigError;
use crate::protocol::ErrorCode;
use crate::upstream::UpstreamError;

/// What a gateway operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The listen address is taken.
    #[error("cannot listen on {addr}: the address is in use\nhint: another Portcullis may be running (`portcullis upstream list` asks it); or choose another address with --listen 127.0.0.1:0")]
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
    #[error("unknown tool `{name}`\nhint: tools/list (or `portcullis tools list`) shows the tools there are")]
    UnknownTool {
        /// The name asked for.
        name: String,
    },
    /// No such server.
    #[error(
        "unknown server `{name}`\nhint: `portcullis upstream list` shows the configured servers"
    )]
    UnknownServer {
        /// The name asked for.
        name: String,
    },
    /// The request's params are wrong.
    #[error("{0}")]
    InvalidParams(String),
    /// No server lists this resource or offers a template for it.
    #[error("resource `{uri}` not found: no server lists it or offers a template for it\nhint: resources/list and resources/templates/list show what there is")]
    ResourceNotFound {
        /// The URI asked for.
        uri: String,
    },
    /// Every session slot is taken by a session that is busy or streaming.
    #[error("the gateway already has {limit} client sessions, all of them in use\nhint: close sessions you no longer need (DELETE /mcp), or raise `max_sessions` in [limits]")]
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
    #[error("{error}{}", error.hint().map(|h| format!("\nhint: {h}")).unwrap_or_default())]
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
    #[error("{} of server `{server}` changed since you looked; nothing was approved\nhint: review the new definition shown with this answer (or with `portcullis tools pending`), then approve what you read", match tools.as_slice() { [one] => format!("the definition of `{one}`"), _ => format!("the definitions of {}", tools.join(", ")) })]
    ChangedSinceShown {
        /// The server.
        server: String,
        /// The tools whose definitions changed.
        tools: Vec<String>,
        /// Each of them as it is now.
        current: Vec<super::ToolDetail>,
    },
    /// The person paused the gateway.
    #[error("Portcullis is paused: `{method}` was not passed on to any server\nhint: the person at this machine paused the gateway; resume it from the Portcullis tray menu (Resume gateway) or with POST /api/v1/gateway/resume")]
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
