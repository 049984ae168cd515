//! Pointing MCP clients at this gateway, as the Connect page does.

use std::path::PathBuf;

use serde::Serialize;

use super::{Gateway, GatewayError};
use crate::clients::{Client, ClientFiles, ClientSetup, Installed, Target, Undone};

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

    /// Writes the snippet for `mcp_url` into the client's config, with a backup.
    pub fn install_client(&self, client: Client, mcp_url: &str) -> Result<Installed, GatewayError> {
        Ok(self.client_files().install(client, &Target::new(mcp_url))?)
    }

    /// Restores the client's config as it was before the last install.
    pub fn undo_client(&self, client: Client) -> Result<Undone, GatewayError> {
        Ok(self.client_files().undo(client)?)
    }
}
