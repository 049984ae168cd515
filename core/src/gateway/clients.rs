//! Pointing MCP clients at this gateway, as the Connect page does.

use super::{Gateway, GatewayError};
use crate::clients::{Client, ClientFiles, ClientSetup, Installed, Target, Undone};

impl Gateway {
    fn client_files(&self) -> ClientFiles {
        ClientFiles::new(&self.inner.paths.data)
    }

    /// Each known client with its snippet for `mcp_url` and whether its config has it.
    pub fn client_setups(&self, mcp_url: &str) -> Vec<ClientSetup> {
        self.client_files().setups(&Target::new(mcp_url))
    }

    /// Writes the snippet for `mcp_url` into the client's config, with a backup.
    pub fn install_client(&self, client: Client, mcp_url: &str) -> Result<Installed, GatewayError> {
        Ok(self.client_files().install(client, &Target::new(mcp_url))?)
    }

    /// Restores the client's config as it was before the last install.
    pub fn undo_client(&self, client: Client) -> Result<Undone, GatewayError> {
        Ok(self.client_files().undo(client)?)
    }
}
