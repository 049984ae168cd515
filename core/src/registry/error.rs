//! What can go wrong between Portcullis and a registry, each with what to do.

use super::install::Input;

/// A registry operation's failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry did not answer, or not over HTTP.
    #[error("the registry at {url} cannot be reached: {reason}")]
    Unreachable {
        /// The registry's base URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The registry answered with an error status.
    #[error("the registry at {url} answered {status} to {path}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Status {
        /// The registry's base URL.
        url: String,
        /// The path asked for.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The `error` of its JSON body, if it had one.
        detail: Option<String>,
    },
    /// The registry answered something that is not a registry document.
    #[error("the registry at {url} answered {path} with something that is not a registry document: {reason}")]
    Malformed {
        /// The registry's base URL.
        url: String,
        /// The path asked for.
        path: String,
        /// Why it could not be read.
        reason: String,
    },
    /// No server of that name (or version) in the registry.
    #[error("the registry at {url} has no server `{name}`{}", version.as_deref().map(|v| format!(" at version {v}")).unwrap_or_default())]
    UnknownServer {
        /// The registry's base URL.
        url: String,
        /// The name asked for.
        name: String,
        /// The version asked for, if not the latest.
        version: Option<String>,
    },
    /// Nothing in the server.json can be run or reached by Portcullis.
    #[error("`{name}` has nothing Portcullis can run here: {found}")]
    NotInstallable {
        /// The registry name.
        name: String,
        /// What it offers.
        found: String,
        /// What to do instead.
        hint: String,
    },
    /// Values the server needs were not given.
    #[error("`{name}` needs {}", missing.iter().map(Input::describe).collect::<Vec<_>>().join(", "))]
    MissingValues {
        /// The registry name.
        name: String,
        /// What is missing.
        missing: Vec<Input>,
    },
    /// A value was given for something the server does not take.
    #[error("`{name}` takes no value `{key}`")]
    UnknownValue {
        /// The registry name.
        name: String,
        /// The key given.
        key: String,
        /// The keys it takes.
        known: Vec<String>,
    },
    /// The request cannot be done as asked (e.g. a remote in a container).
    #[error("{message}")]
    Invalid {
        /// What is wrong.
        message: String,
        /// What to do.
        hint: String,
    },
}

impl crate::hint::Hinted for RegistryError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Unreachable { .. } => Some("check the network, or point `[registry] url` in config.toml at a registry you can reach".to_owned()),
            Self::Status { .. } => Some("check `[registry] url` in config.toml: it names the registry's base URL, without /v0.1".to_owned()),
            Self::Malformed { .. } => Some("check that `[registry] url` names an MCP registry (one that serves /v0.1/servers)".to_owned()),
            Self::UnknownServer { .. } => Some("`portcullis registry search TEXT` lists the servers there are, with their full names (like io.github.owner/name)".to_owned()),
            Self::NotInstallable { hint, .. } => Some(hint.clone()),
            Self::MissingValues { missing, .. } => Some(format!(
                "give {}",
                missing.iter().map(Input::flag).collect::<Vec<_>>().join(" ")
            )),
            Self::UnknownValue { known, .. } => Some(format!(
                "it takes {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )),
            Self::Invalid { hint, .. } => Some(hint.clone()),
        }
    }
}
