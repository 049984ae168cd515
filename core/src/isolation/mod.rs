//! Isolation: an upstream's command run in a hardened container through the
//! Docker API (bollard), instead of as a child process with the gateway's
//! rights. The container transport yields the same `Connection` as the stdio
//! transport, so the supervisor, the router and the trust checks are the same
//! for both.
//!
//! Guarantees, unless the server's config allows more: no network, a
//! read-only root with a tmpfs on /tmp, every capability dropped,
//! no-new-privileges, memory/CPU/pid limits, env through the API (never on a
//! command line), only the mounts named. Images are never pulled implicitly,
//! and a server whose container cannot start stays down with an error that
//! says why; it never falls back to running outside the container. Every
//! container is labelled with its gateway, removed when its server stops,
//! and removed at the next start if the gateway died.

mod container;
mod docker;
mod error;
mod image;
mod mounts;
mod orphans;
mod spec;

pub(crate) use container::{spawn_container, ContainerOptions};
pub(crate) use docker::DockerRuntime;
pub use docker::{home_label, LABEL_GATEWAY, LABEL_HOME, LABEL_MANAGED, LABEL_SERVER};
pub use error::IsolationError;
pub(crate) use image::image_for;
pub use image::{NODE_IMAGE, PYTHON_IMAGE, UV_IMAGE};
