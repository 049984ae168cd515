//! Where Portcullis keeps its files.
//!
//! Config: `$XDG_CONFIG_HOME/portcullis/config.toml`; state:
//! `$XDG_DATA_HOME/portcullis/`. `PORTCULLIS_HOME=DIR` puts both under DIR.

use std::path::{Path, PathBuf};

use super::{ConfigError, EnvVars};

/// The resolved locations of the config file and the data dir.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The config file.
    pub config: PathBuf,
    /// The data dir: database, index, logs, admin token, runtime file.
    pub data: PathBuf,
}

impl Paths {
    /// Resolves the paths from the environment, with an optional explicit config file.
    pub fn resolve(config_override: Option<&Path>) -> Result<Self, ConfigError> {
        let (config, data) =
            match std::env::var_os(EnvVars::PORTCULLIS_HOME).filter(|v| !v.is_empty()) {
                Some(home) => {
                    let home = PathBuf::from(home);
                    (home.join("config.toml"), home)
                }
                None => {
                    let config_dir = dirs::config_dir().ok_or(ConfigError::NoHome)?;
                    let data_dir = dirs::data_dir().ok_or(ConfigError::NoHome)?;
                    (
                        config_dir.join("portcullis").join("config.toml"),
                        data_dir.join("portcullis"),
                    )
                }
            };
        Ok(Self {
            config: config_override.map(Path::to_path_buf).unwrap_or(config),
            data,
        })
    }

    /// Paths under one folder, as `PORTCULLIS_HOME` gives them.
    pub fn under(home: &Path) -> Self {
        Self {
            config: home.join("config.toml"),
            data: home.to_path_buf(),
        }
    }

    /// The folder of upstream stderr logs.
    pub fn logs(&self) -> PathBuf {
        self.data.join("logs")
    }

    /// The file a running gateway writes so the CLI can find it.
    pub fn runtime_file(&self) -> PathBuf {
        self.data.join("gateway.json")
    }

    /// The admin API token (mode 0600).
    pub fn admin_token(&self) -> PathBuf {
        self.data.join("admin.token")
    }

    /// The token the `portcullis` command presents to a running gateway's
    /// admin API, so its decisions are recorded as the CLI's.
    pub fn cli_token(&self) -> PathBuf {
        self.data.join("cli.token")
    }

    /// The SQLite store.
    pub fn database(&self) -> PathBuf {
        self.data.join("portcullis.db")
    }

    /// The search index folder.
    pub fn index(&self) -> PathBuf {
        self.data.join("index")
    }
}
