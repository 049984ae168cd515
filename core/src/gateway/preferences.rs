//! The Settings page's operations: the gateway-wide settings a person
//! changes from the window or a browser, read from and written to the config
//! file (comments and order kept) and applied at once, as an edit of the file
//! would be; `listen` takes effect at the next start (a running gateway
//! cannot move).

use std::time::Duration;

use serde::Serialize;

use super::{Gateway, GatewayError};
use crate::config::{ConfigEditor, ConfigFile, GatewayChange, Overrides, Settings, SurfaceMode};

/// What the Settings page shows: the config file's values (defaults filled in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preferences {
    /// Where the MCP endpoint and admin API listen, as the file says.
    pub listen: String,
    /// What agents see by default.
    pub surface: SurfaceMode,
    /// Whether the desktop app shows native notifications.
    pub notifications: bool,
    /// Days the activity log keeps rows.
    pub activity_retention_days: u64,
    /// The config file.
    pub config: String,
}

impl Preferences {
    fn of(settings: &Settings, config: &std::path::Path) -> Self {
        Self {
            listen: settings.listen.to_string(),
            surface: settings.surface,
            notifications: settings.notifications,
            activity_retention_days: days(settings.activity_retention),
            config: config.display().to_string(),
        }
    }
}

fn days(d: Duration) -> u64 {
    d.as_secs() / 86_400
}

impl Gateway {
    /// The settings the file declares (without command-line overrides, which
    /// are not the person's to change here).
    pub fn preferences(&self) -> Result<Preferences, GatewayError> {
        let path = &self.paths().config;
        let file = ConfigFile::load(path)?;
        let settings = Settings::resolve(&file, &Overrides::default(), path)?;
        Ok(Preferences::of(&settings, path))
    }

    /// Writes `change` to the config file, validated first (a bad value is
    /// refused with what to do, and the file stays as it was), and applies
    /// it. Returns what the file now declares.
    pub async fn set_preferences(
        &self,
        change: &GatewayChange,
    ) -> Result<Preferences, GatewayError> {
        let mut ed = ConfigEditor::open(&self.paths().config)?;
        ed.set_gateway(change);
        ed.save()?;
        self.reload_config().await?;
        self.preferences()
    }
}
