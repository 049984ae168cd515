//! Secrets through the gateway: setting one restarts the servers that use
//! it (their approval pins the secret's name, not its value, so they start
//! without asking again); listing says where each is used; at start, values
//! kept in plain text by an older Portcullis move to the keyring.

use std::collections::BTreeMap;

use serde::Serialize;

use super::trust::launch_fingerprint;
use super::{Gateway, GatewayError};
use crate::config::{ConfigEditor, ConfigFile, Overrides, Paths, Settings, ValueOrSecret};
use crate::secrets::{looks_secret, Backend, SealOptions, SecretName, Secrets, Stored};
use crate::store::UnixMillis;

/// The one-time move of the config's credentials, marked done in the store.
const CONFIG_MOVED: &str = "config_secrets_moved";

/// One secret as a person sees it: never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretView {
    /// Its name.
    pub name: String,
    /// Where its value is kept; `None` when the config names it but no
    /// value is set.
    pub backend: Option<Backend>,
    /// When it was last set.
    pub updated_at: Option<UnixMillis>,
    /// Where the config uses it, e.g. `github: env GITHUB_PERSONAL_ACCESS_TOKEN`.
    pub used_by: Vec<String>,
}

/// What setting a secret did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SecretSet {
    /// Where the value went (and the warning, when it is the encrypted file).
    pub stored: Stored,
    /// The servers restarted to take the new value.
    pub restarted: Vec<String>,
}

/// Where the config uses each secret, by name.
pub fn secret_uses(file: &ConfigFile) -> BTreeMap<String, Vec<String>> {
    let mut uses: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (server, config) in &file.servers {
        let tables = [
            ("env", config.env.as_ref()),
            ("header", config.headers.as_ref()),
        ];
        for (table, map) in tables {
            for (key, value) in map.into_iter().flatten() {
                if let Some(name) = value.secret_name() {
                    uses.entry(name.to_owned())
                        .or_default()
                        .push(format!("{server}: {table} {key}"));
                }
            }
        }
        if let Some(name) = config
            .oauth
            .as_ref()
            .and_then(|o| o.client_secret.as_ref())
            .and_then(ValueOrSecret::secret_name)
        {
            uses.entry(name.to_owned())
                .or_default()
                .push(format!("{server}: oauth client_secret"));
        }
    }
    uses
}

/// Every secret set or named in the config, with where it is used.
pub fn list_secrets(paths: &Paths, secrets: &Secrets) -> Result<Vec<SecretView>, GatewayError> {
    let mut uses = secret_uses(&ConfigFile::load(&paths.config)?);
    let mut out: Vec<SecretView> = secrets
        .list()?
        .into_iter()
        .map(|s| SecretView {
            used_by: uses.remove(&s.name).unwrap_or_default(),
            name: s.name,
            backend: Some(s.backend),
            updated_at: Some(s.updated_at),
        })
        .collect();
    out.extend(uses.into_iter().map(|(name, used_by)| SecretView {
        name,
        backend: None,
        updated_at: None,
        used_by,
    }));
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

impl Gateway {
    /// The secrets (see [`list_secrets`]).
    pub fn secrets(&self) -> Result<Vec<SecretView>, GatewayError> {
        list_secrets(&self.inner.paths, &self.inner.launch.secrets)
    }

    /// Sets a secret, then restarts the servers that use it.
    pub async fn set_secret(
        &self,
        name: &SecretName,
        value: &str,
    ) -> Result<SecretSet, GatewayError> {
        let secrets = self.inner.launch.secrets.clone();
        let (owned, value) = (name.clone(), value.to_owned());
        let stored = tokio::task::spawn_blocking(move || secrets.set(&owned, &value))
            .await
            .map_err(|source| GatewayError::TaskFailed {
                what: "storing the secret",
                source,
            })??;
        let users: Vec<String> = self
            .settings()
            .servers
            .values()
            .filter(|s| s.secret_names().any(|n| n == name.as_str()))
            .map(|s| s.name.clone())
            .collect();
        for server in &users {
            tracing::info!(server, secret = %name, "restarting: a secret it uses changed");
            self.restart_upstream(server).await;
        }
        Ok(SecretSet {
            stored,
            restarted: users,
        })
    }

    /// Removes a secret; whether it was set. Servers using it keep running
    /// and fail to start next time, saying which secret is missing.
    pub fn remove_secret(&self, name: &str) -> Result<bool, GatewayError> {
        Ok(self.inner.launch.secrets.remove(name)?)
    }
}

/// At start: tokens and client secrets an older Portcullis kept in the
/// store go to the keyring (every start, so none is left behind), and, once
/// per data folder, credential-looking values in the config file do too,
/// the file keeping its comments and order and the servers their approval.
/// Returns the settings to run with (resolved again if the file changed).
pub(super) fn move_plain_secrets(
    paths: &Paths,
    secrets: &Secrets,
    oauth: &crate::oauth::OAuthContext,
    settings: Settings,
) -> Settings {
    match oauth.move_plain() {
        Ok(moved) => {
            for m in moved {
                tracing::info!("moved {m} from the store to where secrets are kept");
            }
        }
        Err(e) => tracing::warn!("moving OAuth tokens out of the store failed: {e}"),
    }
    let store = secrets.store();
    match store.meta(CONFIG_MOVED) {
        Ok(Some(_)) => {
            warn_plain(&settings);
            return settings;
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!("reading the store failed: {e}");
            return settings;
        }
    }
    match move_config(paths, secrets, &settings) {
        Ok(next) => {
            if let Err(e) = store.set_meta(CONFIG_MOVED, &UnixMillis::now().0.to_string()) {
                tracing::warn!("recording the move of the config's secrets failed: {e}");
            }
            next.unwrap_or(settings)
        }
        Err(e) => {
            tracing::warn!("moving the config's credentials to the keyring failed ({e}); they stay in the file this run");
            settings
        }
    }
}

/// Moves the config's credential-looking values; the new settings if the file changed.
fn move_config(
    paths: &Paths,
    secrets: &Secrets,
    settings: &Settings,
) -> Result<Option<Settings>, GatewayError> {
    let file = ConfigFile::load(&paths.config)?;
    let mut ed = ConfigEditor::open(&paths.config)?;
    let mut moved = Vec::new();
    for (name, config) in &file.servers {
        let mut config = config.clone();
        for m in secrets.seal_server(name, &mut config, &SealOptions::default())? {
            ed.set_secret_ref(name, m.table, &m.key, &m.secret);
            moved.push(m);
        }
    }
    if moved.is_empty() {
        return Ok(None);
    }
    ed.save()?;
    let next = Settings::resolve(
        &ConfigFile::parse(&ed.text(), &paths.config)?,
        &Overrides {
            listen: Some(settings.listen.to_string()),
        },
        &paths.config,
    )?;
    // The servers run what they ran: their approval follows the new references.
    for (name, old) in &settings.servers {
        if let Some(new) = next.servers.get(name) {
            let (from, to) = (launch_fingerprint(old), launch_fingerprint(new));
            if from != to {
                secrets
                    .store()
                    .repin_launch(name, &from, &to)
                    .map_err(|error| GatewayError::Store { error })?;
            }
        }
    }
    tracing::info!(
        "moved {} credential(s) from {} to where secrets are kept:\n{}",
        moved.len(),
        paths.config.display(),
        moved
            .iter()
            .map(|m| m.describe())
            .collect::<Vec<_>>()
            .join("\n")
    );
    Ok(Some(next))
}

/// Says, once per start, which values in the config look like credentials
/// written in plain text (after the one-time move, they are the person's choice).
fn warn_plain(settings: &Settings) {
    for server in settings.servers.values() {
        for (table, key) in server
            .plain_values()
            .filter(|(_, k, v)| looks_secret(k, v))
            .map(|(t, k, _)| (t, k))
        {
            let name = SecretName::for_value(&server.name, key);
            tracing::warn!(
                "[servers.{}] {table} {key} looks like a credential written in the config\nhint: portcullis secret set {name}, then write {key} = {{ secret = \"{name}\" }}",
                server.name
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::config::{ConfigFile, Overrides, Paths, Settings};
    use crate::secrets::Secrets;
    use crate::store::Store;
    use crate::trust::{Actor, ServerState};
    use crate::Gateway;

    const TOKEN: &str = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";

    fn settings(paths: &Paths) -> Settings {
        let file = ConfigFile::load(&paths.config).unwrap();
        let overrides = Overrides {
            listen: Some("127.0.0.1:0".into()),
        };
        Settings::resolve(&file, &overrides, &paths.config).unwrap()
    }

    /// A data folder from before secrets moved: a token written in the
    /// config, a server approved with it. The first start moves the token,
    /// keeps the file's comments and the server's approval.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_first_start_moves_config_credentials_and_keeps_the_approval() {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
            return; // the keyring itself is tested end to end (tests/python/test_secrets.py)
        }
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        std::fs::create_dir_all(&paths.data).unwrap();
        let text = format!(
            "# my servers\n[servers.gh]\ncommand = \"true\" # does nothing\nenv = {{ GITHUB_TOKEN = \"{TOKEN}\", LOG = \"debug\" }}\n"
        );
        std::fs::write(&paths.config, &text).unwrap();
        // As an older Portcullis left it: approved with the token written out.
        {
            let store = Store::open(paths.database()).unwrap();
            store.set_meta(super::CONFIG_MOVED, "0").unwrap();
        }
        let gw = Gateway::start(paths.clone(), settings(&paths)).unwrap();
        gw.approve_server("gh", Actor::Cli).await.unwrap();
        gw.shutdown(Duration::from_secs(5)).await;
        drop(gw);
        {
            let conn = rusqlite::Connection::open(paths.database()).unwrap();
            conn.execute("DELETE FROM meta", []).unwrap();
        }

        let gw = Gateway::start(paths.clone(), settings(&paths)).unwrap();
        let config = std::fs::read_to_string(&paths.config).unwrap();
        assert!(config.starts_with("# my servers\n"), "{config}");
        assert!(config.contains("# does nothing"), "{config}");
        assert!(
            config.contains("GITHUB_TOKEN = { secret = \"gh.GITHUB_TOKEN\" }, LOG = \"debug\""),
            "{config}"
        );
        assert!(!config.contains(TOKEN));
        let store = gw.store();
        let state = store
            .servers()
            .unwrap()
            .into_iter()
            .find(|s| s.name == "gh")
            .unwrap()
            .state;
        assert_eq!(state, ServerState::Trusted, "the move kept the approval");
        let secrets = Secrets::open(&paths, Arc::clone(&store));
        assert_eq!(secrets.get("gh.GITHUB_TOKEN").unwrap(), TOKEN);
        gw.shutdown(Duration::from_secs(5)).await;

        // Once: a token written into the file later is the person's choice.
        std::fs::write(&paths.config, &text).unwrap();
        let gw = Gateway::start(paths.clone(), settings(&paths)).unwrap();
        assert!(std::fs::read_to_string(&paths.config)
            .unwrap()
            .contains(TOKEN));
        gw.shutdown(Duration::from_secs(5)).await;
    }
}
