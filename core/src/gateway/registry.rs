//! Adding a server found in an MCP registry: the one operation behind
//! `portcullis registry add`, the admin API and the web UI's Catalog page.
//!
//! The registry's `server.json` becomes a plan ([`crate::registry::plan`]);
//! the values it marks secret are stored as secrets first, then the config
//! goes through [`ServerEditor::add`], the path of `portcullis upstream add`:
//! the store records that a person added it, so it starts and its tools wait
//! for approval like any other server's. If adding fails, the secrets just
//! stored are removed again.

use serde::Serialize;

use super::{Gateway, GatewayError, ServerEditor, ServersAdded};
use crate::registry::{
    inputs, plan, Input, InstallRequest, RegistryClient, ServerList, ServerResponse, Via,
};
use crate::secrets::Moved;

/// What adding a server from a registry did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistryAdded {
    /// The local server name.
    pub name: String,
    /// The registry name and version it came from.
    pub registry_name: String,
    /// Its version.
    pub version: String,
    /// What it runs: `npm @scope/pkg@1.0.0 (stdio)` or `remote streamable-http URL`.
    pub source: String,
    /// Values stored as secrets (the server.json marked them secret), and
    /// any other value that looked like a credential.
    pub moved: Vec<Moved>,
    /// Things to look at.
    pub warnings: Vec<String>,
}

/// A registry server with what it takes, for a person choosing values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegistryServerView {
    /// The server and the registry's metadata.
    #[serde(flatten)]
    pub response: ServerResponse,
    /// What running its package takes, if Portcullis can run one.
    pub package_inputs: Option<Vec<Input>>,
    /// What reaching its remote takes, if it has one.
    pub remote_inputs: Option<Vec<Input>>,
}

impl RegistryServerView {
    /// The view of `response`.
    pub fn new(response: ServerResponse) -> Self {
        let detail = &response.server;
        Self {
            package_inputs: inputs(detail, Some(Via::Package)).ok(),
            remote_inputs: inputs(detail, Some(Via::Remote)).ok(),
            response,
        }
    }
}

impl ServerEditor<'_> {
    /// Adds `response`'s server as `request` asks: its secrets to the
    /// keyring, its config to the file, registered as added by a person.
    pub fn add_from_registry(
        &self,
        response: &ServerResponse,
        request: &InstallRequest,
    ) -> Result<RegistryAdded, GatewayError> {
        let detail = &response.server;
        let plan = plan(detail, request)?;
        let secrets = self.secrets()?;
        let mut stored: Vec<Moved> = Vec::new();
        for s in &plan.secrets {
            match secrets.set(&s.name, &s.value) {
                Ok(done) => stored.push(Moved {
                    server: plan.name.clone(),
                    table: s.table,
                    key: s.key.clone(),
                    secret: s.name.to_string(),
                    backend: done.backend,
                    warning: done.warning,
                }),
                Err(e) => {
                    forget(&secrets, &stored);
                    return Err(e.into());
                }
            }
        }
        let added: ServersAdded = match self.add(&plan.name, &plan.config) {
            Ok(added) => added,
            Err(e) => {
                forget(&secrets, &stored);
                return Err(e);
            }
        };
        let mut warnings: Vec<String> = stored.iter().filter_map(|m| m.warning.clone()).collect();
        warnings.extend(added.warnings);
        if let Some(status) = response
            .meta
            .official
            .as_ref()
            .and_then(|o| o.status.as_deref())
            .filter(|s| *s != "active")
        {
            warnings.push(format!("the registry marks `{}` {status}", detail.name));
        }
        stored.extend(added.moved);
        Ok(RegistryAdded {
            name: plan.name,
            registry_name: detail.name.clone(),
            version: detail.version.clone(),
            source: plan.source,
            moved: stored,
            warnings,
        })
    }
}

fn forget(secrets: &crate::secrets::Secrets, stored: &[Moved]) {
    for m in stored {
        let _ = secrets.remove(&m.secret);
    }
}

impl Gateway {
    /// A client of the registry `[registry] url` names.
    pub fn registry(&self) -> RegistryClient {
        RegistryClient::new(self.settings().registry.url.clone())
    }

    /// One page of the registry's servers whose name or description has `text`.
    pub async fn registry_search(
        &self,
        text: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<ServerList, GatewayError> {
        Ok(self.registry().search(text, limit, cursor).await?)
    }

    /// One registry server (its latest version unless `version`), with what it takes.
    pub async fn registry_server(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<RegistryServerView, GatewayError> {
        let response = self.registry().server(name, version).await?;
        Ok(RegistryServerView::new(response))
    }

    /// Adds a registry server as a person chose it; it starts at once, its
    /// tools wait for approval.
    pub async fn add_from_registry(
        &self,
        name: &str,
        version: Option<&str>,
        request: &InstallRequest,
    ) -> Result<RegistryAdded, GatewayError> {
        let response = self.registry().server(name, version).await?;
        let out = self.server_editor().add_from_registry(&response, request)?;
        self.reload_config().await?;
        Ok(out)
    }
}
