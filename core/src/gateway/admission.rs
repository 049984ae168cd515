//! Being let in: the door a request came in by ([`Door`]), the client its
//! token names ([`Caller`]), what it is let in as ([`Admission`]), and why
//! it is not ([`Refusal`]). `client_tokens.rs` knows the tokens,
//! `profiles.rs` decides; both speak these types.

use std::sync::Arc;

use crate::config::SurfaceMode;

/// The door a request came in by: the endpoint's own surface
/// (`/mcp/direct`, `/mcp/search`) and profile (`/mcp/p/NAME`), if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Door {
    /// The profile named by the endpoint (`/mcp/p/NAME`, `stdio --profile`).
    pub profile: Option<String>,
    /// The surface the endpoint serves, if it picks one.
    pub surface: Option<SurfaceMode>,
}

/// A request let in: who sent it, and what it may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// The client its token names (none without a token, where none is needed).
    pub caller: Option<Arc<str>>,
    /// The profile it sees (the door's, or its token's).
    pub profile: Option<Arc<str>>,
    /// The surface it sees: the door's, else the profile's, else `[gateway] surface`.
    pub surface: SurfaceMode,
}

/// The client a token names, and the profile the token is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The client's name.
    pub name: Arc<str>,
    /// The profile it sees, wherever it comes in.
    pub profile: Option<Arc<str>>,
}

/// Why a request to `/mcp` is refused before it is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub enum Refusal {
    /// No token, and one is required.
    Missing,
    /// A token no client has (revoked, mistyped, or another gateway's).
    Unknown,
    /// A profile the config does not have (`bound`: the one the token is
    /// bound to, not the one the endpoint names).
    UnknownProfile {
        /// The profile asked for.
        name: String,
        /// The profiles there are.
        known: Vec<String>,
        /// Whether the client's token named it.
        bound: bool,
    },
    /// The endpoint names another profile than the one the token is bound to.
    OtherProfile {
        /// The client.
        client: String,
        /// Its token's profile.
        bound: String,
        /// The endpoint's.
        asked: String,
    },
}

impl Refusal {
    /// What went wrong.
    pub fn message(&self) -> String {
        match self {
            Self::Missing => {
                "this gateway needs a client token: send `Authorization: Bearer TOKEN`".into()
            }
            Self::Unknown => {
                "the client token is not one this gateway knows (it was removed, or mistyped)"
                    .into()
            }
            Self::UnknownProfile { name, bound, .. } if *bound => {
                format!("this client's token is bound to profile `{name}`, which the config no longer has")
            }
            Self::UnknownProfile { name, .. } => format!("there is no profile `{name}`"),
            Self::OtherProfile {
                client,
                bound,
                asked,
            } => format!("client `{client}` may use profile `{bound}` only, not `{asked}`"),
        }
    }

    /// The HTTP status that answers it.
    pub fn status(&self) -> u16 {
        match self {
            Self::Missing | Self::Unknown => 401,
            Self::UnknownProfile { .. } => 404,
            Self::OtherProfile { .. } => 403,
        }
    }
}

impl crate::hint::Hinted for Refusal {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Self::Missing | Self::Unknown => "make one with `portcullis client add NAME` (or connect the client again from the Connect page), and put it in the client's config as the `Authorization: Bearer` header".into(),
            Self::UnknownProfile { name, bound: true, .. } => format!("add [profiles.{name}] back to the config, or give the client a new token with `portcullis client add NAME --profile PROFILE`"),
            Self::UnknownProfile { known, .. } if known.is_empty() => "no profiles are configured: add one with `portcullis profile add NAME --servers a,b`, or use /mcp".into(),
            Self::UnknownProfile { known, .. } => format!("the profiles are: {} (`portcullis profile list`)", known.join(", ")),
            Self::OtherProfile { bound, .. } => format!("connect it to /mcp/p/{bound} (or /mcp, which serves its profile too), or give it a new token with `portcullis client add NAME --profile PROFILE`"),
        })
    }
}
