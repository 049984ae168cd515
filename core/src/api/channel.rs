//! Who is asking: each channel that may take decisions through the admin
//! API has a token of its own, and the token a request carries is the only
//! thing that names the actor recorded in the activity log.
//!
//! A header a client sets (the old `X-Portcullis-Actor`) is ignored: any
//! program holding the admin token could claim to be the window. Instead:
//! - `admin.token` (mode 0600) is for programs and the web UI in a browser:
//!   their decisions are recorded as `api`;
//! - `cli.token` (mode 0600, beside it) is what the `portcullis` command
//!   sends: `cli`;
//! - the desktop app's window and approval popup get tokens minted in
//!   memory for this run and injected into their pages, never written to
//!   disk: `window` and `popup`. The tray and notification actions call the
//!   [`Gateway`](crate::Gateway) in-process with [`Actor::Tray`].

use std::path::Path;

use crate::trust::Actor;
use crate::GatewayError;

use super::load_or_create_token;

/// The admin API's tokens, each bound to the channel that holds it.
#[derive(Clone)]
pub struct Channels {
    tokens: Vec<(String, Actor)>,
}

impl Channels {
    /// Only the admin token (decisions recorded as `api`).
    pub fn admin_only(admin: String) -> Self {
        Channels {
            tokens: vec![(admin, Actor::Api)],
        }
    }

    /// The admin token from `admin_path`, the CLI's token from `cli_path`
    /// (both created on first use, mode 0600), and fresh in-memory tokens
    /// for the desktop window and popup.
    pub fn load(admin_path: &Path, cli_path: &Path) -> Result<Self, GatewayError> {
        let admin = load_or_create_token(admin_path)?;
        let cli = load_or_create_token(cli_path)?;
        Ok(Channels {
            tokens: vec![
                (admin, Actor::Api),
                (cli, Actor::Cli),
                (fresh(), Actor::Window),
                (fresh(), Actor::Popup),
            ],
        })
    }

    /// The token of `actor`'s channel, if it has one.
    pub fn token(&self, actor: Actor) -> Option<&str> {
        self.tokens
            .iter()
            .find(|(_, a)| *a == actor)
            .map(|(t, _)| t.as_str())
    }

    /// The channel a presented token belongs to (compared in constant time).
    pub(crate) fn actor_of(&self, given: &str) -> Option<Actor> {
        let mut found = None;
        for (token, actor) in &self.tokens {
            if constant_time_eq(given.as_bytes(), token.as_bytes()) {
                found = Some(*actor);
            }
        }
        found
    }
}

fn fresh() -> String {
    (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_token_names_its_own_channel() {
        let dir = tempfile::tempdir().unwrap();
        let c = Channels::load(
            &dir.path().join("admin.token"),
            &dir.path().join("cli.token"),
        )
        .unwrap();
        for actor in [Actor::Api, Actor::Cli, Actor::Window, Actor::Popup] {
            let token = c.token(actor).unwrap().to_owned();
            assert_eq!(c.actor_of(&token), Some(actor));
        }
        assert_ne!(c.token(Actor::Api), c.token(Actor::Cli));
        assert_eq!(c.actor_of("nope"), None);
        assert_eq!(c.actor_of(""), None);
        assert_eq!(c.token(Actor::Tray), None);
    }
}
