//! Changes the config file the way a careful person would: comments, order
//! and formatting of everything else stay as they were, the result is
//! validated before it is written, and the write is atomic.

use std::path::{Path, PathBuf};

use toml_edit::{value, Array, DocumentMut, InlineTable, Item, Table};

use super::settings::validate_name;
use super::{
    ConfigError, ConfigFile, Overrides, ProfileConfig, ServerConfig, Settings, SurfaceMode,
    TransportKind, ValueOrSecret,
};

/// A change to `[gateway]` from the Settings page: each field given replaces
/// its key; a field left out keeps what the file says.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayChange {
    /// `listen`: where the MCP endpoint and admin API listen (from the next start).
    pub listen: Option<String>,
    /// `surface`: what agents see by default.
    pub surface: Option<SurfaceMode>,
    /// `notifications`: native notifications in the desktop app.
    pub notifications: Option<bool>,
    /// `activity_retention_days`: how long the activity log keeps rows.
    pub activity_retention_days: Option<u32>,
}

const HEADER: &str =
    "# Portcullis configuration. See config.example.toml in the Portcullis repository.\n";

/// An open config file being edited.
pub struct ConfigEditor {
    path: PathBuf,
    doc: DocumentMut,
    /// The file did not exist: write [`HEADER`] above everything else.
    new_file: bool,
}

impl ConfigEditor {
    /// Opens the file; a missing file starts empty.
    pub fn open(path: &Path) -> Result<Self, ConfigError> {
        // The header is added when writing, not parsed here: toml_edit keeps a
        // comment-only document as trailing text, so tables added later would
        // land above it.
        let (text, new_file) = match std::fs::read_to_string(path) {
            Ok(text) => (text, false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), true),
            Err(source) => {
                return Err(ConfigError::Io {
                    action: "read",
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        // Refuse to edit a file that does not parse: we would lose what the person meant.
        ConfigFile::parse(&text, path)?;
        let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
            ConfigError::syntax(path, &text, e.span().map(|s| s.start), e.message())
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            doc,
            new_file,
        })
    }

    /// The names of the configured servers, in file order.
    pub fn server_names(&self) -> Vec<String> {
        self.doc
            .get("servers")
            .and_then(Item::as_table_like)
            .map(|t| t.iter().map(|(k, _)| k.to_owned()).collect())
            .unwrap_or_default()
    }

    /// Adds `[servers.<name>]`.
    pub fn add_server(&mut self, name: &str, server: &ServerConfig) -> Result<(), ConfigError> {
        validate_name(name).map_err(|message| ConfigError::Invalid {
            path: self.path.clone(),
            message,
            hint: "server names are 1 to 64 of A-Z a-z 0-9 _ -".into(),
        })?;
        if self.server_names().iter().any(|n| n == name) {
            return Err(ConfigError::DuplicateServer {
                name: name.to_owned(),
                path: self.path.clone(),
            });
        }
        let servers = self.doc.entry("servers").or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        let servers = servers.as_table_mut().ok_or_else(|| ConfigError::Invalid {
            path: self.path.clone(),
            message: "`servers` is not a table".into(),
            hint: "write servers as [servers.<name>] tables".into(),
        })?;
        servers.insert(name, Item::Table(server_table(server)));
        Ok(())
    }

    /// Removes `[servers.<name>]`.
    pub fn remove_server(&mut self, name: &str) -> Result<(), ConfigError> {
        let known = self.server_names();
        let removed = self
            .doc
            .get_mut("servers")
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.remove(name));
        match removed {
            Some(_) => Ok(()),
            None => Err(ConfigError::UnknownServer {
                name: name.to_owned(),
                path: self.path.clone(),
                known,
            }),
        }
    }

    /// Sets `enabled` on a server.
    pub fn set_enabled(&mut self, name: &str, enabled: bool) -> Result<(), ConfigError> {
        let known = self.server_names();
        let table = self
            .doc
            .get_mut("servers")
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.get_mut(name))
            .and_then(Item::as_table_like_mut);
        match table {
            Some(t) => {
                // Keep the comment after an existing `enabled = ...`.
                match t.get_mut("enabled").and_then(Item::as_value_mut) {
                    Some(v) => {
                        let decor = v.decor().clone();
                        *v = enabled.into();
                        *v.decor_mut() = decor;
                    }
                    None => {
                        t.insert("enabled", value(enabled));
                    }
                }
                Ok(())
            }
            None => Err(ConfigError::UnknownServer {
                name: name.to_owned(),
                path: self.path.clone(),
                known,
            }),
        }
    }

    /// Replaces the value of `key` in a server's `table` (`env`, `headers`,
    /// or `oauth` for `client_secret`) with a reference to the secret `name`,
    /// keeping its comment; whether the key was there.
    pub fn set_secret_ref(&mut self, server: &str, table: &str, key: &str, name: &str) -> bool {
        let slot = self
            .doc
            .get_mut("servers")
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.get_mut(server))
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.get_mut(table))
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.get_mut(key))
            .and_then(Item::as_value_mut);
        match slot {
            Some(v) => {
                let decor = v.decor().clone();
                *v = config_value(&ValueOrSecret::Secret(name.to_owned()));
                *v.decor_mut() = decor;
                true
            }
            None => false,
        }
    }

    /// The names of the configured profiles, in file order.
    pub fn profile_names(&self) -> Vec<String> {
        self.doc
            .get("profiles")
            .and_then(Item::as_table_like)
            .map(|t| t.iter().map(|(k, _)| k.to_owned()).collect())
            .unwrap_or_default()
    }

    /// Writes `[profiles.<name>]`, replacing the one of that name (in its
    /// place, keeping the comment above it) or adding it at the end.
    pub fn set_profile(&mut self, name: &str, profile: &ProfileConfig) -> Result<(), ConfigError> {
        super::check_profile_name(name).map_err(|why| ConfigError::Invalid {
            path: self.path.clone(),
            message: format!("`{name}` is not a profile name: {why}"),
            hint: "name profiles like `coding` or `read-only`".into(),
        })?;
        let profiles = self.doc.entry("profiles").or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        let profiles = profiles
            .as_table_mut()
            .ok_or_else(|| ConfigError::Invalid {
                path: self.path.clone(),
                message: "`profiles` is not a table".into(),
                hint: "write profiles as [profiles.<name>] tables".into(),
            })?;
        let mut table = profile_table(profile);
        if let Some(old) = profiles.get(name).and_then(Item::as_table) {
            table.decor_mut().clone_from(old.decor());
            if let Some(at) = old.position() {
                table.set_position(at);
            }
        }
        profiles.insert(name, Item::Table(table));
        Ok(())
    }

    /// Removes `[profiles.<name>]`.
    pub fn remove_profile(&mut self, name: &str) -> Result<(), ConfigError> {
        let known = self.profile_names();
        let removed = self
            .doc
            .get_mut("profiles")
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.remove(name));
        match removed {
            Some(_) => Ok(()),
            None => Err(ConfigError::UnknownProfile {
                name: name.to_owned(),
                path: self.path.clone(),
                known,
            }),
        }
    }

    /// Sets keys of `[gateway]` (creating the table at the top when there is
    /// none); a key that exists keeps its comment.
    pub fn set_gateway(&mut self, change: &GatewayChange) {
        let mut values: Vec<(&str, toml_edit::Value)> = Vec::new();
        if let Some(l) = &change.listen {
            values.push(("listen", l.as_str().into()));
        }
        if let Some(s) = change.surface {
            values.push(("surface", surface_word(s).into()));
        }
        if let Some(n) = change.notifications {
            values.push(("notifications", n.into()));
        }
        if let Some(d) = change.activity_retention_days {
            values.push(("activity_retention_days", i64::from(d).into()));
        }
        if values.is_empty() {
            return;
        }
        if self
            .doc
            .get("gateway")
            .and_then(Item::as_table_like)
            .is_none()
        {
            let mut table = Table::new();
            // Before every table the file has (their positions start at 0).
            table.set_position(-1);
            self.doc.insert("gateway", Item::Table(table));
        }
        let Some(table) = self
            .doc
            .get_mut("gateway")
            .and_then(Item::as_table_like_mut)
        else {
            return;
        };
        for (key, new) in values {
            match table.get_mut(key).and_then(Item::as_value_mut) {
                Some(v) => {
                    let decor = v.decor().clone();
                    *v = new;
                    *v.decor_mut() = decor;
                }
                None => {
                    table.insert(key, Item::Value(new));
                }
            }
        }
    }

    /// The text as it would be written.
    pub fn text(&self) -> String {
        let body = self.doc.to_string();
        if self.new_file {
            format!("{HEADER}\n{}", body.trim_start_matches('\n'))
        } else {
            body
        }
    }

    /// Validates and writes the file atomically (temp file, then rename).
    pub fn save(&self) -> Result<(), ConfigError> {
        let text = self.text();
        let file = ConfigFile::parse(&text, &self.path)?;
        Settings::resolve(&file, &Overrides::default(), &self.path)?;
        let io = |action, source| ConfigError::Io {
            action,
            path: self.path.clone(),
            source,
        };
        // Atomic, keeping the file's mode (0600 when new) and a symlink's link.
        super::private_files::write_atomic(&self.path, text.as_bytes()).map_err(|e| io("write", e))
    }
}

fn profile_table(profile: &ProfileConfig) -> Table {
    let strings = |items: &[String]| {
        let mut a = Array::new();
        for s in items {
            a.push(s.as_str());
        }
        value(a)
    };
    let mut t = Table::new();
    if let Some(d) = &profile.description {
        t.insert("description", value(d.as_str()));
    }
    t.insert("servers", strings(&profile.servers));
    if let Some(tools) = &profile.tools {
        t.insert("tools", strings(tools));
    }
    if let Some(s) = profile.surface {
        t.insert("surface", value(surface_word(s)));
    }
    t
}

fn surface_word(s: SurfaceMode) -> &'static str {
    match s {
        SurfaceMode::Direct => "direct",
        SurfaceMode::Search => "search",
    }
}

fn server_table(server: &ServerConfig) -> Table {
    let mut t = Table::new();
    let strings = |items: &[String]| {
        let mut a = Array::new();
        for s in items {
            a.push(s.as_str());
        }
        a
    };
    let map = |items: &indexmap::IndexMap<String, ValueOrSecret>| {
        let mut m = InlineTable::new();
        for (k, v) in items {
            m.insert(k, config_value(v));
        }
        m
    };
    if let Some(c) = &server.command {
        t.insert("command", value(c.as_str()));
    }
    if let Some(a) = &server.args {
        t.insert("args", value(strings(a)));
    }
    if let Some(e) = &server.env {
        t.insert("env", value(map(e)));
    }
    if let Some(c) = &server.cwd {
        t.insert("cwd", value(c.to_string_lossy().as_ref()));
    }
    if let Some(u) = &server.url {
        t.insert("url", value(u.as_str()));
    }
    if let Some(h) = &server.headers {
        t.insert("headers", value(map(h)));
    }
    if let Some(k) = server.transport {
        let label = match k {
            TransportKind::Stdio => "stdio",
            TransportKind::StreamableHttp => "streamable-http",
            TransportKind::Sse => "sse",
            TransportKind::Auto => "auto",
        };
        t.insert("transport", value(label));
    }
    if let Some(e) = server.enabled {
        t.insert("enabled", value(e));
    }
    if let Some(s) = server.timeout {
        t.insert("timeout", number(s));
    }
    if let Some(i) = server.isolation {
        t.insert("isolation", value(i.as_str()));
    }
    if let Some(i) = &server.image {
        t.insert("image", value(i.as_str()));
    }
    match &server.network {
        Some(super::NetworkConfig::Switch(n)) => {
            t.insert("network", value(*n));
        }
        Some(super::NetworkConfig::AllowList(hosts)) => {
            t.insert("network", value(strings(hosts)));
        }
        None => {}
    }
    if let Some(m) = &server.mounts {
        t.insert("mounts", value(strings(m)));
    }
    if let Some(m) = &server.memory {
        t.insert("memory", value(m.as_str()));
    }
    if let Some(c) = server.cpus {
        t.insert("cpus", number(c));
    }
    if let Some(p) = server.pids {
        t.insert("pids", value(p));
    }
    if let Some(p) = &server.passthrough {
        t.insert("passthrough", value(strings(p)));
    }
    if let Some(u) = &server.user {
        t.insert("user", value(u.as_str()));
    }
    if server.start == Some(super::StartMode::OnDemand) {
        t.insert("start", value("on-demand"));
    }
    if let Some(d) = &server.idle_stop {
        t.insert("idle_stop", value(d.as_str()));
    }
    if let Some(n) = server.max_concurrent {
        t.insert("max_concurrent", value(i64::from(n)));
    }
    if let Some(n) = server.max_queue {
        t.insert("max_queue", value(i64::from(n)));
    }
    t
}

/// `"value"`, or `{ secret = "name" }`.
fn config_value(v: &ValueOrSecret) -> toml_edit::Value {
    match v {
        ValueOrSecret::Plain(p) => p.as_str().into(),
        ValueOrSecret::Secret(name) => {
            let mut t = InlineTable::new();
            t.insert("secret", name.as_str().into());
            toml_edit::Value::InlineTable(t)
        }
    }
}

/// `120`, not `120.0`, for whole numbers.
fn number(n: f64) -> Item {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        value(n as i64)
    } else {
        value(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IsolationKind;

    fn editor(text: &str) -> ConfigEditor {
        let dir = std::env::temp_dir().join(format!(
            "portcullis-edit-{}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        std::fs::write(&path, text).unwrap();
        ConfigEditor::open(&path).unwrap()
    }

    #[test]
    fn settings_keep_their_comments_and_a_missing_gateway_table_goes_first() {
        let mut ed = editor("# mine\n[gateway]\nsurface = \"search\"  # agents search\n");
        ed.set_gateway(&GatewayChange {
            surface: Some(SurfaceMode::Direct),
            activity_retention_days: Some(7),
            ..GatewayChange::default()
        });
        assert_eq!(
            ed.text(),
            "# mine\n[gateway]\nsurface = \"direct\"  # agents search\nactivity_retention_days = 7\n"
        );
        let mut ed = editor("[servers.time]\ncommand = \"uvx\"\n");
        ed.set_gateway(&GatewayChange {
            notifications: Some(false),
            ..GatewayChange::default()
        });
        assert!(
            ed.text().starts_with("[gateway]\nnotifications = false\n"),
            "{}",
            ed.text()
        );
    }

    #[test]
    fn edits_keep_comments_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let original = "# my gateway\n[gateway]\nlisten = \"127.0.0.1:9\" # odd port\n\n# the time server\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n";
        std::fs::write(&path, original).unwrap();
        let mut ed = ConfigEditor::open(&path).unwrap();
        let server = ServerConfig {
            command: Some("npx".into()),
            args: Some(vec!["-y".into(), "pkg".into()]),
            env: Some([("K".to_owned(), "V".into())].into_iter().collect()),
            ..Default::default()
        };
        ed.add_server("github", &server).unwrap();
        ed.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(original), "{text}");
        assert!(text.contains("[servers.github]\ncommand = \"npx\"\nargs = [\"-y\", \"pkg\"]\nenv = { K = \"V\" }\n"), "{text}");
        assert!(matches!(
            ed.add_server("github", &server),
            Err(ConfigError::DuplicateServer { .. })
        ));

        let mut ed = ConfigEditor::open(&path).unwrap();
        ed.remove_server("time").unwrap();
        ed.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("# my gateway")
                && text.contains("# odd port")
                && !text.contains("mcp-server-time"),
            "{text}"
        );
        let err = ed.remove_server("nope").unwrap_err().to_string();
        assert!(err.contains("configured: github"), "{err}");
    }

    #[test]
    fn a_new_file_starts_with_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let mut ed = ConfigEditor::open(&path).unwrap();
        ed.add_server(
            "b",
            &ServerConfig {
                command: Some("y".into()),
                timeout: Some(120.0),
                ..Default::default()
            },
        )
        .unwrap();
        ed.add_server(
            "a",
            &ServerConfig {
                command: Some("x".into()),
                timeout: Some(2.5),
                ..Default::default()
            },
        )
        .unwrap();
        ed.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{HEADER}\n[servers.b]\ncommand = \"y\"\ntimeout = 120\n\n[servers.a]\ncommand = \"x\"\ntimeout = 2.5\n"));
        // Reopened, it is an ordinary file: the header is not written twice.
        let mut ed = ConfigEditor::open(&path).unwrap();
        ed.remove_server("a").unwrap();
        ed.save().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{HEADER}\n[servers.b]\ncommand = \"y\"\ntimeout = 120\n")
        );
        let file = ConfigFile::parse(&std::fs::read_to_string(&path).unwrap(), &path).unwrap();
        assert_eq!(file.servers["b"].timeout, Some(120.0));
    }

    #[test]
    fn an_allow_list_is_written_as_a_list_of_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let mut ed = ConfigEditor::open(&path).unwrap();
        let server = ServerConfig {
            command: Some("npx".into()),
            isolation: Some(IsolationKind::Sandbox),
            network: Some(super::super::NetworkConfig::AllowList(vec![
                "api.github.com".into(),
                "*.slack.com:443".into(),
            ])),
            ..Default::default()
        };
        ed.add_server("gh", &server).unwrap();
        ed.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("network = [\"api.github.com\", \"*.slack.com:443\"]\n"),
            "{text}"
        );
        assert_eq!(
            ConfigFile::parse(&text, &path).unwrap().servers["gh"],
            server
        );
    }

    #[test]
    fn isolation_options_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let mut ed = ConfigEditor::open(&path).unwrap();
        let server = ServerConfig {
            command: Some("npx".into()),
            isolation: Some(IsolationKind::Docker),
            image: Some("node:22".into()),
            network: Some(super::super::NetworkConfig::Switch(true)),
            mounts: Some(vec!["/srv:/srv:ro".into()]),
            memory: Some("1g".into()),
            cpus: Some(2.0),
            pids: Some(64),
            ..Default::default()
        };
        ed.add_server("n", &server).unwrap();
        ed.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("[servers.n]\ncommand = \"npx\"\nisolation = \"docker\"\nimage = \"node:22\"\nnetwork = true\nmounts = [\"/srv:/srv:ro\"]\nmemory = \"1g\"\ncpus = 2\npids = 64\n"), "{text}");
        assert_eq!(
            ConfigFile::parse(&text, &path).unwrap().servers["n"],
            server
        );
    }

    #[test]
    fn enabling_keeps_the_comment_on_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[servers.a]\ncommand = \"x\"\nenabled = true  # flip when needed\n",
        )
        .unwrap();
        let mut ed = ConfigEditor::open(&path).unwrap();
        ed.set_enabled("a", false).unwrap();
        assert_eq!(
            ed.text(),
            "[servers.a]\ncommand = \"x\"\nenabled = false  # flip when needed\n"
        );
    }

    #[test]
    fn refuses_to_edit_a_broken_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[servers.a\n").unwrap();
        assert!(matches!(
            ConfigEditor::open(&path),
            Err(ConfigError::Syntax { .. })
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[servers.a\n");
    }
}
