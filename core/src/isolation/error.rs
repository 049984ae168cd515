//! Why a container or a sandbox could not be started, with what to do about it.

use std::fmt;

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
    /// The kernel lacks what the sandbox needs: the server is not started,
    /// never run without the sandbox instead.
    #[error("the sandbox cannot run on this machine, so the server was not started (it never runs outside its sandbox): {feature} is not available: {detail}")]
    SandboxUnavailable {
        /// The missing kernel feature.
        feature: SandboxFeature,
        /// What the kernel answered.
        detail: String,
    },
    /// Preparing a sandbox failed (its private folders, its launcher).
    #[error("the sandbox could not {action}: {message}")]
    Sandbox {
        /// What was attempted, e.g. "create its private folder".
        action: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The egress proxy of a server with an allow list could not start; the
    /// server is not started without it.
    #[error(
        "the egress proxy of this server could not start, so the server was not started: {message}"
    )]
    Egress {
        /// What went wrong.
        message: String,
        /// What to do.
        hint: String,
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
            Self::SandboxUnavailable { feature, .. } => Some(format!(
                "{}; or run this server with isolation = \"docker\", or with isolation = \"none\" if you trust it with your files and network",
                feature.remedy()
            )),
            Self::Egress { hint, .. } => Some(hint.clone()),
            _ => None,
        }
    }
}

/// A kernel feature the sandbox cannot do without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SandboxFeature {
    /// Landlock, ABI 3 or newer (file-system rules, truncation included).
    Landlock,
    /// Unprivileged user namespaces (and the PID, network and mount namespaces in them).
    UserNamespaces,
    /// A private `/proc` and mounts in the sandbox's own mount namespace.
    Mounts,
    /// seccomp filters.
    Seccomp,
    /// Linux itself: the sandbox exists only there.
    Platform,
}

impl SandboxFeature {
    /// The word the launcher reports it by.
    pub fn key(self) -> &'static str {
        match self {
            Self::Landlock => "landlock",
            Self::UserNamespaces => "user-namespaces",
            Self::Mounts => "mounts",
            Self::Seccomp => "seccomp",
            Self::Platform => "platform",
        }
    }

    /// The feature a launcher named by [`SandboxFeature::key`].
    pub fn from_key(key: &str) -> Option<Self> {
        [
            Self::Landlock,
            Self::UserNamespaces,
            Self::Mounts,
            Self::Seccomp,
            Self::Platform,
        ]
        .into_iter()
        .find(|f| f.key() == key)
    }

    /// What would give the machine the feature.
    fn remedy(self) -> &'static str {
        match self {
            Self::Landlock => "the sandbox needs Landlock ABI 3 or newer: Linux 6.2 or later with `landlock` in the kernel's `lsm=` list (see /sys/kernel/security/lsm)",
            Self::UserNamespaces => "allow unprivileged user namespaces: sysctl user.max_user_namespaces above 0, kernel.unprivileged_userns_clone=1 on Debian kernels, and on Ubuntu 24.04+ kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile that allows them for portcullis",
            Self::Mounts => "the sandbox mounts a private /proc in its own namespaces, which fails when /proc is partly hidden (as inside some containers); run the gateway on the host",
            Self::Seccomp => "the sandbox needs a kernel built with CONFIG_SECCOMP_FILTER",
            Self::Platform => "the sandbox exists on Linux only",
        }
    }
}

impl fmt::Display for SandboxFeature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Landlock => "Landlock (ABI 3 or newer)",
            Self::UserNamespaces => "unprivileged user namespaces",
            Self::Mounts => "a private /proc in the sandbox's namespaces",
            Self::Seccomp => "seccomp filtering",
            Self::Platform => "Linux",
        })
    }
}
