//! Pointing MCP clients at this gateway, as the Connect page does, and
//! bringing their servers over, as the welcome page does.

use std::path::PathBuf;

use serde::Serialize;

use super::{Gateway, GatewayError, ServersAdded};
use crate::clients::{Client, ClientFiles, ClientSetup, Installed, Target, Undone};
use crate::config::ImportedServer;

/// The entry a client's config has for Portcullis itself: never imported.
const OWN_ENTRY: &str = "portcullis";

/// The Connect page: where clients connect, and each client's setup.
#[derive(Debug, Clone, Serialize)]
pub struct ClientSetups {
    /// The MCP endpoint the snippets point at.
    pub mcp_url: String,
    /// The person's home folder (paths under it can be shown as `~`).
    pub home: Option<PathBuf>,
    /// Each known client.
    pub clients: Vec<ClientSetup>,
}

impl Gateway {
    fn client_files(&self) -> ClientFiles {
        ClientFiles::new(&self.inner.paths.data)
    }

    /// Each known client with its snippet for `mcp_url` and whether its config has it.
    pub fn client_setups(&self, mcp_url: &str) -> ClientSetups {
        let files = self.client_files();
        ClientSetups {
            mcp_url: mcp_url.to_owned(),
            home: files.home().map(PathBuf::from),
            clients: files.setups(&Target::new(mcp_url)),
        }
    }

    /// Writes the snippet for `mcp_url` into the client's config, with a
    /// backup: for a client that connects over HTTP, with a new client token
    /// named after it (its old one, if any, stops working), so the gateway
    /// knows it by its token.
    ///
    /// With `profile`, the client sees only that profile: its token is bound
    /// to it, or the gateway it starts serves it (`stdio --profile`).
    pub fn install_client(
        &self,
        client: Client,
        mcp_url: &str,
        profile: Option<&str>,
    ) -> Result<Installed, GatewayError> {
        if let Some(p) = profile {
            super::profiles::check_profile(&self.settings(), p)?;
        }
        let mut target = Target::new(mcp_url);
        target.profile = profile.map(str::to_owned);
        if client != Client::ClaudeDesktop {
            target.token = Some(crate::clients::new_token());
        }
        let installed = self.client_files().install(client, &target)?;
        // Recorded once the file has it: a failed write leaves the tokens as they were.
        if let Some(token) = &target.token {
            self.put_client_token(client.id(), token, profile)?;
        }
        Ok(installed)
    }

    /// The servers a client's config declares, Portcullis's own entry left
    /// out; none when the client has no config file.
    pub fn client_servers(&self, client: Client) -> Result<Vec<ImportedServer>, GatewayError> {
        let path = self.client_files().path(client)?;
        if !path.is_file() {
            return Ok(Vec::new());
        }
        let mut servers = crate::config::import_servers(&path)?;
        servers.retain(|s| s.name != OWN_ENTRY);
        Ok(servers)
    }

    /// Adds a client's servers to the config (names that exist are skipped);
    /// they start and their tools wait for approval, as any server a person adds.
    pub async fn import_client(&self, client: Client) -> Result<ServersAdded, GatewayError> {
        let servers = self.client_servers(client)?;
        let out = self.server_editor().import(&servers)?;
        self.reload_config().await?;
        Ok(out)
    }

    /// Restores the client's config as it was before the last install, and
    /// removes the client token that install made (the restored file does
    /// not have it).
    pub fn undo_client(&self, client: Client) -> Result<Undone, GatewayError> {
        let undone = self.client_files().undo(client)?;
        if client != Client::ClaudeDesktop {
            self.remove_client(client.id())?;
        }
        Ok(undone)
    }
}
