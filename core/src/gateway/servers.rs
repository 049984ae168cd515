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

use serde::Serialize;

use super::{Gateway, GatewayError};
use crate::config::{
    ConfigEditor, ConfigFile, ImportedServer, Overrides, Paths, ServerConfig, Settings,
};
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
}

/// Edits the declared servers: the config file, keeping the person's comments
/// and order, and the store's record of who added a server.
pub struct ServerEditor<'a> {
    paths: &'a Paths,
    store: Option<&'a Store>,
}

impl<'a> ServerEditor<'a> {
    /// An editor for the config and store under `paths`; the store is opened
    /// only when a server is added.
    pub fn new(paths: &'a Paths) -> Self {
        Self { paths, store: None }
    }

    /// Uses an open store instead of opening one.
    pub fn with_store(mut self, store: &'a Store) -> Self {
        self.store = Some(store);
        self
    }

    /// Adds one server; a server of that name must not exist.
    pub fn add(&self, name: &str, server: &ServerConfig) -> Result<(), GatewayError> {
        let mut ed = ConfigEditor::open(&self.paths.config)?;
        ed.add_server(name, server)?;
        self.register_and_save(&ed, &[name.to_owned()])
    }

    /// Adds servers read from another client's config (or a pasted snippet);
    /// names that exist are skipped.
    pub fn import(&self, servers: &[ImportedServer]) -> Result<ServersAdded, GatewayError> {
        let mut ed = ConfigEditor::open(&self.paths.config)?;
        let existing = ed.server_names();
        let mut out = ServersAdded::default();
        for s in servers {
            if existing.contains(&s.name) || out.added.contains(&s.name) {
                out.skipped.push(s.name.clone());
                continue;
            }
            ed.add_server(&s.name, &s.config)?;
            out.warnings.extend(s.warnings.iter().cloned());
            out.added.push(s.name.clone());
        }
        self.register_and_save(&ed, &out.added)?;
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
    fn register_and_save(&self, ed: &ConfigEditor, names: &[String]) -> Result<(), GatewayError> {
        let file = ConfigFile::parse(&ed.text(), &self.paths.config)?;
        Settings::resolve(&file, &Overrides::default(), &self.paths.config)?;
        if !names.is_empty() {
            let opened;
            let store = match self.store {
                Some(s) => s,
                None => {
                    opened = Store::open(self.paths.database())
                        .map_err(|error| GatewayError::Store { error })?;
                    &opened
                }
            };
            for name in names {
                store
                    .register_server(name, ServerOrigin::Person)
                    .map_err(|error| GatewayError::Store { error })?;
            }
        }
        ed.save()?;
        Ok(())
    }
}

impl Gateway {
    pub(super) fn server_editor(&self) -> ServerEditor<'_> {
        ServerEditor::new(&self.inner.paths).with_store(&self.inner.store)
    }

    /// Adds a server as a person described it; it starts at once (its tools
    /// wait for approval).
    pub async fn add_server(
        &self,
        name: &str,
        server: &ServerConfig,
    ) -> Result<ServersAdded, GatewayError> {
        self.server_editor().add(name, server)?;
        self.reload_config().await?;
        Ok(ServersAdded {
            added: vec![name.to_owned()],
            ..ServersAdded::default()
        })
    }

    /// Adds the servers of an `mcpServers` (or VS Code `servers`) snippet;
    /// names that exist are skipped.
    pub async fn import_servers(&self, snippet: &str) -> Result<ServersAdded, GatewayError> {
        let servers = crate::config::parse_servers(snippet, Path::new("the pasted JSON"))?;
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
