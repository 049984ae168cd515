//! Who comes in by which door, and what they may see: a request's client
//! (by its token) and profile (`/mcp/p/NAME`, or the one its token is bound
//! to) make an [`Admission`]; a session opened with it sees through a
//! [`View`] of the gateway. Every place that shows or reaches a tool,
//! resource or prompt asks the view, so a profile holds for search,
//! describe, call, direct listing, resources and prompts alike, and what is
//! outside it is unknown to the agent, not merely refused.

use std::sync::Arc;

use super::client_tokens::{Caller, Refusal};
use super::session::Session;
use super::Gateway;
use crate::config::{Profile, SurfaceMode};

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

/// What one session may see: everything, or one profile.
#[derive(Debug, Clone)]
pub(crate) enum View {
    /// No profile: every server and tool.
    All,
    /// Only what the profile offers.
    Only(Arc<Profile>),
}

impl View {
    /// Whether it shows server `server`'s resources and prompts.
    pub(crate) fn server(&self, server: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(p) => p.has_server(server),
        }
    }

    /// Whether it shows tool `tool` (its upstream name) of server `server`.
    pub(crate) fn tool(&self, server: &str, tool: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(p) => p.has_tool(server, tool),
        }
    }

    /// Whether it shows only part of the gateway.
    pub(crate) fn is_partial(&self) -> bool {
        matches!(self, Self::Only(_))
    }
}

impl Gateway {
    /// Lets a request in by `door` presenting `bearer` (the `Authorization`
    /// header's token, if any), or says why not. A token bound to a profile
    /// sees that profile at every door, and no other.
    pub fn admit(&self, bearer: Option<&str>, door: &Door) -> Result<Admission, Refusal> {
        let caller: Option<Caller> = self.caller(bearer)?;
        let bound = caller.as_ref().and_then(|c| c.profile.clone());
        let profile = match (door.profile.as_deref(), bound.as_deref()) {
            (Some(asked), Some(bound)) if asked != bound => {
                return Err(Refusal::OtherProfile {
                    client: caller.map(|c| c.name.to_string()).unwrap_or_default(),
                    bound: bound.to_owned(),
                    asked: asked.to_owned(),
                })
            }
            (asked, bound) => asked.or(bound).map(str::to_owned),
        };
        let settings = self.settings();
        let found = match &profile {
            Some(name) => match settings.profiles.get(name) {
                Some(p) => Some(p.clone()),
                None => {
                    return Err(Refusal::UnknownProfile {
                        name: name.clone(),
                        known: settings.profiles.keys().cloned().collect(),
                        bound: door.profile.is_none(),
                    })
                }
            },
            None => None,
        };
        Ok(Admission {
            caller: caller.map(|c| c.name),
            profile: profile.map(Arc::from),
            surface: door
                .surface
                .or(found.and_then(|p| p.surface))
                .unwrap_or(settings.surface),
        })
    }

    /// What `session` may see now: its profile as the config says it today
    /// (a profile removed since the session opened shows nothing).
    pub(crate) fn view(&self, session: &Session) -> View {
        self.view_for(session.profile())
    }

    /// What a request for `profile` may see now.
    pub(crate) fn view_for(&self, profile: Option<&str>) -> View {
        let Some(name) = profile else {
            return View::All;
        };
        match self.settings().profiles.get(name) {
            Some(p) => View::Only(p.clone()),
            None => View::Only(Arc::new(Profile::nothing(name))),
        }
    }

    /// Every profile in the config, in file order.
    pub fn profiles(&self) -> Vec<Arc<Profile>> {
        self.settings().profiles.values().cloned().collect()
    }
}
