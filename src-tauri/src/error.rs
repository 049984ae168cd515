//! The error every desktop command returns: `{kind, message, hint}`, so the
//! pages can show what happened and what to do without parsing text.

use serde::Serialize;

/// What kind of failure, for a page to choose how to show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The config file cannot be read or is invalid.
    Config,
    /// The listen address is taken (another Portcullis is running?).
    PortInUse,
    /// The gateway did not start, so there is nothing to ask.
    NotRunning,
    /// A server or tool that does not exist.
    NotFound,
    /// Any other gateway failure.
    Gateway,
    /// A window could not be opened or shown.
    Window,
    /// This system cannot do it (yet).
    Unsupported,
}

/// A failed desktop command, as the page receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// What happened.
    pub message: String,
    /// What to do about it, when there is something to do.
    pub hint: Option<String>,
}

impl CommandError {
    /// An error of `kind` from a core error: its message, and its hint
    /// (of the error or of the first of its causes that has one).
    pub fn from_error(kind: ErrorKind, error: &(dyn std::error::Error + 'static)) -> Self {
        Self {
            kind,
            message: error.to_string(),
            hint: portcullis::hint::hint_of(error),
        }
    }

    /// An error of `kind` that has no hint.
    pub fn plain(kind: ErrorKind, message: impl std::fmt::Display) -> Self {
        Self {
            kind,
            message: message.to_string(),
            hint: None,
        }
    }

    /// A window that could not be opened.
    pub fn window(error: &tauri::Error) -> Self {
        Self {
            kind: ErrorKind::Window,
            message: format!("cannot open the window: {error}"),
            hint: Some("see the app's log on stderr (PORTCULLIS_LOG=debug for more)".into()),
        }
    }
}

impl From<portcullis::GatewayError> for CommandError {
    fn from(e: portcullis::GatewayError) -> Self {
        use portcullis::GatewayError as G;
        let kind = match &e {
            G::PortInUse { .. } => ErrorKind::PortInUse,
            G::Config(_) => ErrorKind::Config,
            G::UnknownServer { .. } | G::UnknownTool { .. } => ErrorKind::NotFound,
            _ => ErrorKind::Gateway,
        };
        Self::from_error(kind, &e)
    }
}

impl From<portcullis::config::ConfigError> for CommandError {
    fn from(e: portcullis::config::ConfigError) -> Self {
        Self::from_error(ErrorKind::Config, &e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_in_use_keeps_its_hint_apart() {
        let e = portcullis::GatewayError::PortInUse {
            addr: "127.0.0.1:7331".parse().unwrap(),
        };
        let c = CommandError::from(e);
        assert_eq!(c.kind, ErrorKind::PortInUse);
        assert_eq!(
            c.message,
            "cannot listen on 127.0.0.1:7331: the address is in use"
        );
        assert!(
            c.hint.as_deref().is_some_and(|h| h.contains("--listen")),
            "{c:?}"
        );
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["kind"], "port-in-use");
    }

    #[test]
    fn errors_without_a_hint_have_none() {
        let c = CommandError::plain(ErrorKind::Gateway, "it broke");
        assert_eq!(
            c,
            CommandError {
                kind: ErrorKind::Gateway,
                message: "it broke".into(),
                hint: None
            }
        );
    }
}
