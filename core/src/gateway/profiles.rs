//! Who comes in by which door, and what they may see: a request's client
//! (by its token) and profile (`/mcp/p/NAME`, or the one its token is bound
//! to) make an [`Admission`]; a session opened with it sees through a
//! [`View`] of the gateway. Every place that shows or reaches a tool,
//! resource or prompt asks the view, so a profile holds for search,
//! describe, call, direct listing, resources and prompts alike, and what is
//! outside it is unknown to the agent, not merely refused.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::admission::{Admission, Caller, Door, Refusal};
use super::session::Session;
use super::{ClientView, Gateway, GatewayError};
use crate::config::{glob_match, ConfigEditor, Paths, Profile, ProfileConfig, Settings};

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

/// A profile as `profile list` and the web UI show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileView {
    /// Its name; served at `/mcp/p/NAME`.
    pub name: String,
    /// As written: what it is for, its server and tool patterns, its surface.
    #[serde(flatten)]
    pub config: ProfileConfig,
    /// The configured servers its patterns cover, in config order.
    pub covers: Vec<String>,
    /// Its server patterns that cover no configured server (a typo, or a
    /// server since removed).
    pub unmatched: Vec<String>,
    /// The clients whose tokens are bound to it.
    pub clients: Vec<String>,
}

/// Every profile of `settings`, with the servers it covers and the clients
/// (of `clients`) bound to it.
pub fn profile_views(settings: &Settings, clients: &[ClientView]) -> Vec<ProfileView> {
    settings
        .profiles
        .values()
        .map(|p| {
            let covers = settings
                .servers
                .keys()
                .filter(|s| p.has_server(s))
                .cloned()
                .collect();
            let unmatched = p
                .servers
                .iter()
                .filter(|pat| !settings.servers.keys().any(|s| glob_match(pat, s)))
                .cloned()
                .collect();
            ProfileView {
                name: p.name.clone(),
                config: ProfileConfig {
                    description: p.description.clone(),
                    servers: p.servers.clone(),
                    tools: (!p.tools.is_empty()).then(|| p.tools.clone()),
                    surface: p.surface,
                },
                covers,
                unmatched,
                clients: clients
                    .iter()
                    .filter(|c| c.profile.as_deref() == Some(p.name.as_str()))
                    .map(|c| c.name.clone())
                    .collect(),
            }
        })
        .collect()
}

/// That `settings` has profile `name` (for binding a token to it).
pub fn check_profile(settings: &Settings, name: &str) -> Result<(), GatewayError> {
    if settings.profiles.contains_key(name) {
        return Ok(());
    }
    let known: Vec<&str> = settings.profiles.keys().map(String::as_str).collect();
    Err(GatewayError::invalid(
        format!("there is no profile `{name}` to bind the token to"),
        if known.is_empty() {
            "add one first: `portcullis profile add NAME --servers a,b`".to_owned()
        } else {
            format!(
                "the profiles are: {} (`portcullis profile list`)",
                known.join(", ")
            )
        },
    ))
}

/// Writes `[profiles.NAME]` into the config under `paths` (replacing the
/// one of that name); a running gateway applies it within a second.
pub fn put_profile(paths: &Paths, name: &str, profile: &ProfileConfig) -> Result<(), GatewayError> {
    let mut ed = ConfigEditor::open(&paths.config)?;
    ed.set_profile(name, profile)?;
    ed.save()?;
    Ok(())
}

/// Removes `[profiles.NAME]` from the config under `paths`. Sessions opened
/// for it see nothing from then on, and tokens bound to it are refused.
pub fn remove_profile(paths: &Paths, name: &str) -> Result<(), GatewayError> {
    let mut ed = ConfigEditor::open(&paths.config)?;
    ed.remove_profile(name)?;
    ed.save()?;
    Ok(())
}

impl Gateway {
    /// Every profile, with what it covers and who is bound to it.
    pub fn profile_views(&self) -> Result<Vec<ProfileView>, GatewayError> {
        Ok(profile_views(&self.settings(), &self.clients()?))
    }

    /// Writes `[profiles.NAME]` and applies it now.
    pub async fn put_profile(
        &self,
        name: &str,
        profile: &ProfileConfig,
    ) -> Result<(), GatewayError> {
        put_profile(&self.inner.paths, name, profile)?;
        self.reload_config().await
    }

    /// Removes `[profiles.NAME]` and applies it now.
    pub async fn remove_profile(&self, name: &str) -> Result<(), GatewayError> {
        remove_profile(&self.inner.paths, name)?;
        self.reload_config().await
    }
}
