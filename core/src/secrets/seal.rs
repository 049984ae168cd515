//! Moving credentials out of a server's config: values a person gives
//! (`upstream add --env`, an import, the web UI's form, a config written
//! before secrets existed) that look like credentials go to the keyring, and
//! the config keeps a reference to them by name.

use std::collections::HashSet;

use indexmap::IndexMap;
use serde::Serialize;

use super::{looks_secret, Backend, SecretError, SecretName, Secrets};
use crate::config::{ServerConfig, ValueOrSecret};

/// Which values stay in the file although they look like credentials.
#[derive(Debug, Clone, Default)]
pub struct SealOptions {
    /// Environment variable and header names kept as written (`--plain-env`).
    pub plain: HashSet<String>,
}

/// One value moved out of the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    /// The server.
    pub server: String,
    /// Where it was: `env`, `headers` or `oauth`.
    pub table: &'static str,
    /// Its key there, e.g. `GITHUB_PERSONAL_ACCESS_TOKEN`.
    pub key: String,
    /// The secret it became.
    pub secret: String,
    /// Where the value is kept now.
    pub backend: Backend,
    /// Said when it went to the encrypted file for want of a keyring (once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl Moved {
    /// One line for a person: what moved where.
    pub fn describe(&self) -> String {
        let place = self.backend.describe();
        let what = if self.table == "headers" {
            "header"
        } else {
            self.table
        };
        format!(
            "[servers.{}] {what} {} moved to {place} as secret `{}`",
            self.server, self.key, self.secret
        )
    }
}

impl Secrets {
    /// Moves the credential-looking values of `server` (named `name`) into
    /// secrets named `name.KEY`, leaving references; what moved, in order.
    pub fn seal_server(
        &self,
        name: &str,
        server: &mut ServerConfig,
        options: &SealOptions,
    ) -> Result<Vec<Moved>, SecretError> {
        let mut moved = Vec::new();
        if let Some(env) = server.env.as_mut() {
            self.seal_map(name, "env", env, options, &mut moved)?;
        }
        if let Some(headers) = server.headers.as_mut() {
            self.seal_map(name, "headers", headers, options, &mut moved)?;
        }
        if let Some(ValueOrSecret::Plain(value)) =
            server.oauth.as_mut().and_then(|o| o.client_secret.as_mut())
        {
            // A client secret is one by definition, whatever it looks like.
            let secret = SecretName::for_value(name, "oauth-client-secret");
            let stored = self.set(&secret, value)?;
            moved.push(Moved {
                server: name.to_owned(),
                table: "oauth",
                key: "client_secret".to_owned(),
                secret: secret.to_string(),
                backend: stored.backend,
                warning: stored.warning,
            });
            if let Some(o) = server.oauth.as_mut() {
                o.client_secret = Some(ValueOrSecret::Secret(secret.to_string()));
            }
        }
        Ok(moved)
    }

    fn seal_map(
        &self,
        server: &str,
        table: &'static str,
        map: &mut IndexMap<String, ValueOrSecret>,
        options: &SealOptions,
        moved: &mut Vec<Moved>,
    ) -> Result<(), SecretError> {
        for (key, value) in map.iter_mut() {
            let ValueOrSecret::Plain(plain) = value else {
                continue;
            };
            if options.plain.contains(key) || !looks_secret(key, plain) {
                continue;
            }
            let secret = SecretName::for_value(server, key);
            let stored = self.set(&secret, plain)?;
            moved.push(Moved {
                server: server.to_owned(),
                table,
                key: key.clone(),
                secret: secret.to_string(),
                backend: stored.backend,
                warning: stored.warning,
            });
            *value = ValueOrSecret::Secret(secret.to_string());
        }
        Ok(())
    }
}
