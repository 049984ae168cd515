//! Servers a person adds, removes, enables and disables.
//!
//! The config file says what the person declared; the store records that a
//! *person* added a server, which is what lets it start at once (its tools
//! still wait for approval). [`ServerEditor`] does both, in the order that
//! keeps them consistent, with or without a running gateway: the CLI uses it
//! directly (a running gateway notices the file within a second), the admin
//! API and the desktop app call the [`Gateway`] methods below, which also
//! apply the new file at once.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use super::{Gateway, GatewayError};
use crate::config::{
    ConfigEditor, ConfigFile, ImportedServer, Overrides, Paths, ServerConfig, Settings,
};
use crate::secrets::{Moved, SealOptions, Secrets};
use crate::store::Store;
use crate::trust::ServerOrigin;

/// What adding or importing servers did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServersAdded {
    /// The servers added, in order.
    pub added: Vec<String>,
    /// Servers not added because one of that name exists.
    pub skipped: Vec<String>,
    /// Things to look at (renamed servers, `${...}` variables).
    pub warnings: Vec<String>,
    /// Values that looked like credentials and went to the keyring; the
    /// config refers to them by name.
    pub moved: Vec<Moved>,
}

/// Edits the declared servers: the config file, keeping the person's comments
/// and order, and the store's record of who added a server.
pub struct ServerEditor<'a> {
    paths: &'a Paths,
    secrets: Option<Secrets>,
    seal: SealOptions,
}

impl<'a> ServerEditor<'a> {
    /// An editor for the config and store under `paths`; the store is opened
    /// only when a server is added.
    pub fn new(paths: &'a Paths) -> Self {
        Self {
            paths,
            secrets: None,
            seal: SealOptions::default(),
        }
    }

    /// Uses open secrets (and their store) instead of opening them.
    pub fn with_secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// Which credential-looking values stay in the file as written.
    pub fn sealing(mut self, options: SealOptions) -> Self {
        self.seal = options;
        self
    }

    pub(super) fn secrets(&self) -> Result<Secrets, GatewayError> {
        match &self.secrets {
            Some(s) => Ok(s.clone()),
            None => {
                let store = Store::open(self.paths.database())
                    .map_err(|error| GatewayError::Store { error })?;
                Ok(Secrets::open(self.paths, Arc::new(store)))
            }
        }
    }

    /// Adds one server; a server of that name must not exist. Values that
    /// look like credentials go to the keyring (see [`ServersAdded::moved`]).
    pub fn add(&self, name: &str, server: &ServerConfig) -> Result<ServersAdded, GatewayError> {
        self.import(&[ImportedServer {
            name: name.to_owned(),
            config: server.clone(),
            warnings: Vec::new(),
        }])
        .and_then(|out| {
            if out.skipped.is_empty() {
                Ok(out)
            } else {
                Err(crate::config::ConfigError::DuplicateServer {
                    name: name.to_owned(),
                    path: self.paths.config.clone(),
                }
                .into())
            }
        })
    }

    /// Adds servers read from another client's config (or a pasted snippet);
    /// names that exist are skipped.
    pub fn import(&self, servers: &[ImportedServer]) -> Result<ServersAdded, GatewayError> {
        let mut ed = ConfigEditor::open(&self.paths.config)?;
        let existing = ed.server_names();
        let mut out = ServersAdded::default();
        let mut sealed = Vec::new();
        for s in servers {
            if existing.contains(&s.name) || out.added.contains(&s.name) {
                out.skipped.push(s.name.clone());
                continue;
            }
            // Checked as written first, so a bad entry stores no secret.
            ed.add_server(&s.name, &s.config)?;
            out.warnings.extend(s.warnings.iter().cloned());
            out.added.push(s.name.clone());
            sealed.push(s);
        }
        if out.added.is_empty() {
            return Ok(out);
        }
        let file = ConfigFile::parse(&ed.text(), &self.paths.config)?;
        Settings::resolve(&file, &Overrides::default(), &self.paths.config)?;
        let secrets = self.secrets()?;
        let mut ed = ConfigEditor::open(&self.paths.config)?;
        for s in sealed {
            let mut config = s.config.clone();
            let moved = secrets.seal_server(&s.name, &mut config, &self.seal);
            let moved = match moved {
                Ok(m) => m,
                Err(e) => {
                    forget(&secrets, &out.moved);
                    return Err(e.into());
                }
            };
            out.warnings
                .extend(moved.iter().filter_map(|m| m.warning.clone()));
            out.moved.extend(moved);
            ed.add_server(&s.name, &config)?;
        }
        if let Err(e) = self.register_and_save(&ed, &out.added, secrets.store()) {
            forget(&secrets, &out.moved);
            return Err(e);
        }
        Ok(out)
    }

    /// Removes a server from the config (the store keeps its decisions).
    pub fn remove(&self, name: &str) -> Result<(), GatewayError> {
        let mut ed = ConfigEditor::open(&self.paths.config)?;
        ed.remove_server(name)?;
        ed.save()?;
        Ok(())
    }

    /// Enables or disables a server (a disabled one stays configured, stopped).
    pub fn set_enabled(&self, name: &str, enabled: bool) -> Result<(), GatewayError> {
        let mut ed = ConfigEditor::open(&self.paths.config)?;
        ed.set_enabled(name, enabled)?;
        ed.save()?;
        Ok(())
    }

    /// Validates the edited file as `save` will, then records that a person
    /// added `names`, then saves. Validating first: a name registered for an
    /// add that then fails (bad URL, bad timeout…) would let a later hand edit
    /// under that name start without approval. Registering before saving: a
    /// running gateway that read the file first would register the server as
    /// pending.
    fn register_and_save(
        &self,
        ed: &ConfigEditor,
        names: &[String],
        store: &Store,
    ) -> Result<(), GatewayError> {
        let file = ConfigFile::parse(&ed.text(), &self.paths.config)?;
        Settings::resolve(&file, &Overrides::default(), &self.paths.config)?;
        for name in names {
            store
                .register_server(name, ServerOrigin::Person)
                .map_err(|error| GatewayError::Store { error })?;
        }
        ed.save()?;
        Ok(())
    }
}

/// Takes back secrets stored for an add that then failed.
fn forget(secrets: &Secrets, moved: &[Moved]) {
    for m in moved {
        let _ = secrets.remove(&m.secret);
    }
}

impl Gateway {
    pub(super) fn server_editor(&self) -> ServerEditor<'_> {
        ServerEditor::new(&self.inner.paths).with_secrets(self.inner.launch.secrets.clone())
    }

    /// Adds a server as a person described it; it starts at once (its tools
    /// wait for approval). Values that look like credentials go to the
    /// keyring, except those named in `seal.plain`.
    pub async fn add_server(
        &self,
        name: &str,
        server: &ServerConfig,
        seal: SealOptions,
    ) -> Result<ServersAdded, GatewayError> {
        let out = self.server_editor().sealing(seal).add(name, server)?;
        self.reload_config().await?;
        Ok(out)
    }

    /// Adds the servers of an `mcpServers` (or VS Code `servers`) snippet;
    /// names that exist are skipped.
    pub async fn import_servers(&self, snippet: &str) -> Result<ServersAdded, GatewayError> {
        let servers = crate::config::parse_servers(snippet, Path::new("the pasted JSON"))?;
        let out = self.server_editor().import(&servers)?;
        self.reload_config().await?;
        Ok(out)
    }

    /// Adds the servers of another client's config file (JSON, Codex's TOML,
    /// Continue's or Goose's YAML), as `portcullis upstream import` does;
    /// names that exist are skipped. They start at once; their tools wait
    /// for approval.
    pub async fn import_file(&self, path: &Path) -> Result<ServersAdded, GatewayError> {
        let servers = crate::config::import_servers(path)?;
        let out = self.server_editor().import(&servers)?;
        self.reload_config().await?;
        Ok(out)
    }

    /// Removes a server: it stops and leaves the config file.
    pub async fn remove_server(&self, name: &str) -> Result<(), GatewayError> {
        self.server_editor().remove(name)?;
        self.reload_config().await
    }

    /// Enables or disables a server.
    pub async fn set_server_enabled(&self, name: &str, enabled: bool) -> Result<(), GatewayError> {
        self.server_editor().set_enabled(name, enabled)?;
        self.reload_config().await
    }

    /// Reads the config file again and applies it now, rather than when the
    /// watcher next looks. The listen address stays: a running gateway
    /// cannot move.
    pub(super) async fn reload_config(&self) -> Result<(), GatewayError> {
        let path = &self.inner.paths.config;
        let file = ConfigFile::load(path)?;
        let listen = self.settings().listen.to_string();
        let settings = Settings::resolve(
            &file,
            &Overrides {
                listen: Some(listen),
            },
            path,
        )?;
        self.apply_settings(settings).await;
        Ok(())
    }
}
