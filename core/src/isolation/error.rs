//! Why a container could not be started, with what to do about it.

/// Failure to run an upstream in a container.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IsolationError {
    /// The Docker engine cannot be reached (no daemon, no permission…).
    #[error("Docker is not available: {problem}")]
    Unavailable {
        /// What is wrong, naming the socket.
        problem: String,
        /// What to do.
        hint: String,
    },
    /// The image is not in the engine; it is never pulled implicitly.
    #[error("the image `{image}` is not in the Docker engine, so the server was not started (it never runs outside its container)")]
    ImageMissing {
        /// The image.
        image: String,
        /// How to get it.
        hint: String,
    },
    /// A host path named in `mounts` does not exist.
    #[error("mount source {} does not exist", path.display())]
    MountMissing {
        /// The host path.
        path: std::path::PathBuf,
    },
    /// A host path named in `mounts` would hand the container the host.
    #[error("mount source {} is refused: {why}", path.display())]
    DangerousMount {
        /// The host path.
        path: std::path::PathBuf,
        /// Why it is dangerous.
        why: String,
    },
    /// The engine refused or failed a request.
    #[error("Docker could not {action}: {message}")]
    Engine {
        /// What was asked, e.g. "create the container".
        action: &'static str,
        /// The engine's answer.
        message: String,
    },
}

impl crate::hint::Hinted for IsolationError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Unavailable { hint, .. } => Some(hint.clone()),
            Self::ImageMissing { hint, .. } => Some(hint.clone()),
            Self::MountMissing { .. } => {
                Some("create it, or fix `mounts` for this server".to_owned())
            }
            Self::DangerousMount { .. } => {
                Some("mount only the folders the server needs, e.g. one project folder".to_owned())
            }
            _ => None,
        }
    }
}
