//! Changes the config file the way a careful person would: comments, order
//! and formatting of everything else stay as they were, the result is
//! validated before it is written, and the write is atomic.

use std::path::{Path, PathBuf};

use toml_edit::{value, Array, DocumentMut, InlineTable, Item, Table};

use super::settings::validate_name;
use super::{ConfigError, ConfigFile, Overrides, ServerConfig, Settings, TransportKind};

const HEADER: &str = "# Portcullis configuration. See config.example.toml in the Portcullis repository.\n";

/// An open config file being edited.
pub struct ConfigEditor {
    path: PathBuf,
    doc: DocumentMut,
}

impl ConfigEditor {
    /// Opens the file; a missing file starts empty.
    pub fn open(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HEADER.to_owned(),
            Err(source) => return Err(ConfigError::Io { action: "read", path: path.to_path_buf(), source }),
        };
        // Refuse to edit a file that does not parse: we would lose what the person meant.
        ConfigFile::parse(&text, path)?;
        let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| ConfigError::syntax(path, &text, e.span().map(|s| s.start), e.message()))?;
        Ok(Self { path: path.to_path_buf(), doc })
    }

    /// The names of the configured servers, in file order.
    pub fn server_names(&self) -> Vec<String> {
        self.doc.get("servers").and_then(Item::as_table_like).map(|t| t.iter().map(|(k, _)| k.to_owned()).collect()).unwrap_or_default()
    }

    /// Adds `[servers.<name>]`.
    pub fn add_server(&mut self, name: &str, server: &ServerConfig) -> Result<(), ConfigError> {
        validate_name(name).map_err(|message| ConfigError::Invalid { path: self.path.clone(), message, hint: "server names are 1 to 64 of A-Z a-z 0-9 _ -".into() })?;
        if self.server_names().iter().any(|n| n == name) {
            return Err(ConfigError::DuplicateServer { name: name.to_owned(), path: self.path.clone() });
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
        let removed = self.doc.get_mut("servers").and_then(Item::as_table_like_mut).and_then(|t| t.remove(name));
        match removed {
            Some(_) => Ok(()),
            None => Err(ConfigError::UnknownServer { name: name.to_owned(), path: self.path.clone(), known }),
        }
    }

    /// Sets `enabled` on a server.
    pub fn set_enabled(&mut self, name: &str, enabled: bool) -> Result<(), ConfigError> {
        let known = self.server_names();
        let table = self.doc.get_mut("servers").and_then(Item::as_table_like_mut).and_then(|t| t.get_mut(name)).and_then(Item::as_table_like_mut);
        match table {
            Some(t) => {
                t.insert("enabled", value(enabled));
                Ok(())
            }
            None => Err(ConfigError::UnknownServer { name: name.to_owned(), path: self.path.clone(), known }),
        }
    }

    /// The text as it would be written.
    pub fn text(&self) -> String {
        self.doc.to_string()
    }

    /// Validates and writes the file atomically (temp file, then rename).
    pub fn save(&self) -> Result<(), ConfigError> {
        let text = self.text();
        let file = ConfigFile::parse(&text, &self.path)?;
        Settings::resolve(&file, &Overrides::default(), &self.path)?;
        let io = |action, source| ConfigError::Io { action, path: self.path.clone(), source };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io("create the folder of", e))?;
        }
        let tmp = self.path.with_extension("toml.tmp");
        std::fs::write(&tmp, text.as_bytes()).map_err(|e| io("write", e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| io("replace", e))?;
        Ok(())
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
    let map = |items: &indexmap::IndexMap<String, String>| {
        let mut m = InlineTable::new();
        for (k, v) in items {
            m.insert(k, v.as_str().into());
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
        t.insert("timeout", value(s));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_keep_comments_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let original = "# my gateway\n[gateway]\nlisten = \"127.0.0.1:9\" # odd port\n\n# the time server\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n";
        std::fs::write(&path, original).unwrap();
        let mut ed = ConfigEditor::open(&path).unwrap();
        let server = ServerConfig { command: Some("npx".into()), args: Some(vec!["-y".into(), "pkg".into()]), env: Some([("K".to_owned(), "V".to_owned())].into_iter().collect()), ..Default::default() };
        ed.add_server("github", &server).unwrap();
        ed.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(original), "{text}");
        assert!(text.contains("[servers.github]\ncommand = \"npx\"\nargs = [\"-y\", \"pkg\"]\nenv = { K = \"V\" }\n"), "{text}");
        assert!(matches!(ed.add_server("github", &server), Err(ConfigError::DuplicateServer { .. })));

        let mut ed = ConfigEditor::open(&path).unwrap();
        ed.remove_server("time").unwrap();
        ed.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("# my gateway") && text.contains("# odd port") && !text.contains("mcp-server-time"), "{text}");
        let err = ed.remove_server("nope").unwrap_err().to_string();
        assert!(err.contains("configured: github"), "{err}");
    }

    #[test]
    fn refuses_to_edit_a_broken_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[servers.a\n").unwrap();
        assert!(matches!(ConfigEditor::open(&path), Err(ConfigError::Syntax { .. })));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[servers.a\n");
    }
}
