use super::*;
use serde_json::Value;

fn setup() -> (tempfile::TempDir, ClientFiles, Target) {
    let dir = tempfile::tempdir().unwrap();
    let files = ClientFiles::with_dirs(
        &dir.path().join("home"),
        &dir.path().join("config"),
        &dir.path().join("data"),
    );
    let target = Target {
        mcp_url: "http://127.0.0.1:7331/mcp".into(),
        exe: "/opt/portcullis".into(),
        home: None,
        token: None,
        profile: None,
    };
    (dir, files, target)
}

/// With a client token, every client that connects over HTTP gets it as
/// its `Authorization` header, where that client reads headers; the entry
/// still counts as installed for a target without the token (the page never
/// sees tokens).
#[test]
fn a_client_token_goes_where_each_client_reads_headers() {
    let (_dir, files, plain) = setup();
    let target = Target {
        token: Some("pc_test-token".into()),
        ..plain.clone()
    };
    for client in Client::ALL {
        let path = files.path(client).unwrap();
        files.install(client, &target).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let entry = client.entry(&target);
        if client == Client::ClaudeDesktop {
            assert!(!text.contains("pc_test-token"), "{text}");
            continue;
        }
        assert!(
            text.contains("Bearer pc_test-token"),
            "{}: {text}",
            client.label()
        );
        let headers = match client {
            Client::Codex => &entry["http_headers"],
            Client::Continue => &entry["requestOptions"]["headers"],
            _ => &entry["headers"],
        };
        assert_eq!(
            headers["Authorization"],
            "Bearer pc_test-token",
            "{}",
            client.label()
        );
        let setup = files
            .setups(&plain)
            .into_iter()
            .find(|s| s.client == client)
            .unwrap();
        assert_eq!(setup.status, ClientStatus::Installed, "{}", client.label());
    }
}

#[test]
fn stamps() {
    let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_428_900);
    assert_eq!(utc_stamp(t), "20261123T101500Z");
    assert_eq!(utc_stamp(SystemTime::UNIX_EPOCH), "19700101T000000Z");
}

#[test]
fn installs_into_an_existing_file_keeping_the_rest_and_undoes() {
    let (_dir, files, target) = setup();
    let path = files.path(Client::Cursor).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let original = "{\n  \"mcpServers\": {\n    \"zeta\": {\"command\": \"z\"},\n    \"alpha\": {\"url\": \"http://x\"}\n  },\n  \"other\": 1\n}\n";
    std::fs::write(&path, original).unwrap();
    assert_eq!(files.setups(&target)[1].status, ClientStatus::NotInstalled);

    let done = files.install(Client::Cursor, &target).unwrap();
    assert!(done.changed);
    let backup = done.backup.clone().unwrap();
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), original);
    assert!(backup
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("mcp.json.portcullis-backup-"));
    let now: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let keys: Vec<_> = now["mcpServers"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, ["zeta", "alpha", "portcullis"]);
    assert_eq!(
        now["mcpServers"]["portcullis"],
        serde_json::json!({ "url": "http://127.0.0.1:7331/mcp" })
    );
    assert_eq!(now["other"], 1);
    let setup = &files.setups(&target)[1];
    assert_eq!(setup.status, ClientStatus::Installed);
    assert_eq!(setup.undo.as_ref().unwrap().backup.as_ref(), Some(&backup));

    // Again: nothing to change, no second backup, and undo still goes back to the original.
    assert!(!files.install(Client::Cursor, &target).unwrap().changed);
    let undone = files.undo(Client::Cursor).unwrap();
    assert_eq!(undone.restored_from, Some(backup));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    assert!(matches!(
        files.undo(Client::Cursor),
        Err(ClientError::NothingToUndo { .. })
    ));
}

#[test]
fn a_file_it_created_is_removed_by_undo() {
    let (_dir, files, target) = setup();
    let done = files.install(Client::VsCode, &target).unwrap();
    assert!(done.backup.is_none());
    let text = std::fs::read_to_string(&done.path).unwrap();
    assert_eq!(text, "{\n  \"servers\": {\n    \"portcullis\": {\n      \"type\": \"http\",\n      \"url\": \"http://127.0.0.1:7331/mcp\"\n    }\n  }\n}\n");
    files.undo(Client::VsCode).unwrap();
    assert!(!done.path.exists());
}

#[test]
fn undo_refuses_to_lose_a_later_edit() {
    let (_dir, files, target) = setup();
    let path = files.path(Client::ClaudeDesktop).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{}").unwrap();
    files.install(Client::ClaudeDesktop, &target).unwrap();
    std::fs::write(&path, "{\"edited\": true}").unwrap();
    let err = crate::hint::with_hint(&files.undo(Client::ClaudeDesktop).unwrap_err());
    assert!(
        err.contains("changed after Portcullis wrote it") && err.contains("portcullis-backup-"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"edited\": true}"
    );
}

#[test]
fn each_client_gets_its_own_entry_in_its_own_file_and_the_rest_stays() {
    let (dir, files, target) = setup();
    let url = "http://127.0.0.1:7331/mcp";
    for (client, file, entry) in [
        (
            Client::ClaudeCode,
            ".claude.json",
            serde_json::json!({ "type": "http", "url": url }),
        ),
        (
            Client::Windsurf,
            ".codeium/windsurf/mcp_config.json",
            serde_json::json!({ "serverUrl": url }),
        ),
        (
            Client::GeminiCli,
            ".gemini/settings.json",
            serde_json::json!({ "httpUrl": url }),
        ),
        (
            Client::LmStudio,
            ".lmstudio/mcp.json",
            serde_json::json!({ "url": url }),
        ),
    ] {
        let path = files.path(client).unwrap();
        assert_eq!(path, dir.path().join("home").join(file));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            r#"{"theme": "dark", "mcpServers": {"mine": {"command": "m"}}}"#,
        )
        .unwrap();
        files.install(client, &target).unwrap();
        let now: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(now["mcpServers"]["portcullis"], entry, "{}", client.label());
        assert_eq!(now["mcpServers"]["mine"]["command"], "m");
        assert_eq!(now["theme"], "dark");
        let setup = files
            .setups(&target)
            .into_iter()
            .find(|s| s.client == client)
            .unwrap();
        assert_eq!(setup.status, ClientStatus::Installed, "{}", client.label());
        assert_eq!(Client::parse(client.id()), Some(client));
    }
}

#[test]
fn a_symlinked_config_is_edited_at_its_target() {
    let (dir, files, target) = setup();
    let path = files.path(Client::Cursor).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let real = dir.path().join("dotfiles-mcp.json");
    std::fs::write(&real, "{\"mcpServers\": {}}").unwrap();
    std::os::unix::fs::symlink(&real, &path).unwrap();
    files.install(Client::Cursor, &target).unwrap();
    assert!(std::fs::symlink_metadata(&path)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&real)
        .unwrap()
        .contains("portcullis"));
    files.undo(Client::Cursor).unwrap();
    assert!(std::fs::symlink_metadata(&path)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(!std::fs::read_to_string(&real)
        .unwrap()
        .contains("portcullis"));
}

#[test]
fn undo_touches_only_the_clients_own_config() {
    let (dir, files, target) = setup();
    files.install(Client::VsCode, &target).unwrap();
    let victim = dir.path().join("precious.txt");
    std::fs::write(&victim, "keep me").unwrap();
    // Someone rewrites the record to name another file (with a matching hash).
    let record_path = files.record_path(Client::VsCode);
    let mut record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record_path).unwrap()).unwrap();
    record["path"] = serde_json::json!(victim);
    record["written_sha256"] = serde_json::json!(sha256(b"keep me"));
    std::fs::write(&record_path, record.to_string()).unwrap();
    let err = files.undo(Client::VsCode).unwrap_err().to_string();
    assert!(
        err.contains("not the VS Code config") || err.contains("not the"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
}

#[test]
fn files_it_cannot_read_are_left_alone() {
    let (_dir, files, target) = setup();
    let path = files.path(Client::VsCode).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let broken = "{\n  // my servers\n  \"servers\": {\n";
    std::fs::write(&path, broken).unwrap();
    assert_eq!(files.setups(&target)[2].status, ClientStatus::Unreadable);
    let err = crate::hint::with_hint(&files.install(Client::VsCode, &target).unwrap_err());
    assert!(
        err.contains("is not JSON Portcullis can edit safely")
            && err.contains("hint: add the snippet to it by hand"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    // YAML written in flow style is read, but not edited.
    let path = files.path(Client::Continue).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let flow = "name: c\nversion: 1\nschema: v1\nmcpServers: [{name: a, command: x}]\n";
    std::fs::write(&path, flow).unwrap();
    let err = files.install(Client::Continue, &target).unwrap_err();
    assert!(
        matches!(err, ClientError::Unreadable { syntax: "YAML", .. }),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), flow);
}

#[test]
fn vscode_mcp_json_with_comments_is_edited_in_place() {
    let (_dir, files, target) = setup();
    let path = files.path(Client::VsCode).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let jsonc = "{\n  // my servers\n  \"servers\": {}\n}\n";
    std::fs::write(&path, jsonc).unwrap();
    files.install(Client::VsCode, &target).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("{\n  // my servers\n  \"servers\": {\n    \"portcullis\""),
        "{text}"
    );
    files.undo(Client::VsCode).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), jsonc);
}

#[test]
fn every_snippet_reads_back_as_its_entry() {
    let (_dir, _files, target) = setup();
    for client in Client::ALL {
        let layout = client.layout();
        let snippet = layout.snippet(&client.entry(&target));
        assert_eq!(
            layout.current(&snippet).unwrap(),
            Some(client.entry(&target)),
            "{}: {snippet}",
            client.label()
        );
    }
}

/// `after` is `before` with one run of bytes inserted, which holds the entry.
fn only_inserted(before: &str, after: &str) -> String {
    let prefix = before
        .bytes()
        .zip(after.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = before[prefix..]
        .bytes()
        .rev()
        .zip(after[prefix..].bytes().rev())
        .take_while(|(a, b)| a == b)
        .count();
    assert_eq!(
        prefix + suffix,
        before.len(),
        "more than an insertion:\n{after}"
    );
    after[prefix..after.len() - suffix].to_owned()
}

const CODEX_TOML: &str = r#"# Codex: ~/.codex/config.toml
model = "gpt-5-codex"
approval_policy = "on-request"   # ask first

[mcp_servers.context7]
command = "npx"
args = ["-y", "@upstash/context7-mcp"]
startup_timeout_sec = 20

[mcp_servers.context7.env]
LOG = "info"   # quiet

[profiles.deep]
model_reasoning_effort = "high"
"#;

const ZED_SETTINGS: &str = r#"// Zed settings
//
// For information on how to configure Zed, see the Zed
// documentation: https://zed.dev/docs/configuring-zed
{
  "ui_font_size": 16,
  "buffer_font_size": 15, // a bit smaller
  /* MCP servers */
  "context_servers": {
    "mcp-server-git": {
      "command": "uvx",
      "args": ["mcp-server-git"],
      "env": {},
    },
  },
  "theme": {
    "mode": "system",
    "light": "One Light",
    "dark": "One Dark",
  },
}
"#;

const CLINE_SETTINGS: &str = r#"{
  "mcpServers": {
    "github.com/modelcontextprotocol/servers/tree/main/src/filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/home/p/src"],
      "disabled": false,
      "autoApprove": []
    }
  }
}"#;

const CONTINUE_YAML: &str = "\
name: Local Assistant
version: 1.0.0
schema: v1
models:
  - name: Qwen   # via ollama
    provider: ollama
    model: qwen2.5-coder:7b
    roles:
      - chat
      - edit
mcpServers:
  - name: SQLite
    command: npx
    args:
      - -y
      - mcp-sqlite
      - /home/p/db.sqlite
# rules come last
rules:
  - Give concise responses
";

const OPENCODE_JSONC: &str = r#"{
  "$schema": "https://opencode.ai/config.json",
  "theme": "opencode",
  "mcp": {
    // docs search
    "context7": {
      "type": "remote",
      "url": "https://mcp.context7.com/mcp",
      "enabled": true,
    },
  },
}
"#;

const GOOSE_YAML: &str = "\
GOOSE_PROVIDER: anthropic
GOOSE_MODEL: claude-sonnet-4-5   # default model
extensions:
  developer:
    bundled: true
    display_name: Developer
    enabled: true
    name: developer
    timeout: 300
    type: builtin
  fetch:
    args:
    - mcp-server-fetch
    bundled: null
    cmd: uvx
    description: Fetch web pages
    enabled: true
    env_keys: []
    envs: {}
    name: fetch
    timeout: 300
    type: stdio
GOOSE_MODE: smart_approve
";

#[test]
fn each_new_client_keeps_its_file_imports_its_servers_and_undo_gives_it_back() {
    let (dir, files, target) = setup();
    // opencode edits opencode.jsonc when there is one.
    let opencode_jsonc = dir.path().join("config/opencode/opencode.jsonc");
    std::fs::create_dir_all(opencode_jsonc.parent().unwrap()).unwrap();
    std::fs::write(&opencode_jsonc, OPENCODE_JSONC).unwrap();
    assert_eq!(files.path(Client::OpenCode).unwrap(), opencode_jsonc);
    for (client, sample, other) in [
        (Client::Codex, CODEX_TOML, "context7"),
        (Client::Zed, ZED_SETTINGS, "mcp-server-git"),
        (
            Client::Cline,
            CLINE_SETTINGS,
            "github-com-modelcontextprotocol-servers-tree-main-src-filesystem",
        ),
        (Client::Continue, CONTINUE_YAML, "SQLite"),
        (Client::OpenCode, OPENCODE_JSONC, "context7"),
        (Client::Goose, GOOSE_YAML, "fetch"),
    ] {
        let label = client.label();
        let path = files.path(client).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, sample).unwrap();
        let setup_of = |files: &ClientFiles| {
            files
                .setups(&target)
                .into_iter()
                .find(|s| s.client == client)
                .unwrap()
        };
        assert_eq!(
            setup_of(&files).status,
            ClientStatus::NotInstalled,
            "{label}"
        );

        let done = files.install(client, &target).unwrap();
        assert!(done.changed && done.backup.is_some(), "{label}");
        let after = std::fs::read_to_string(&path).unwrap();
        let inserted = only_inserted(sample, &after);
        assert!(
            inserted.contains("portcullis") && inserted.contains(&target.mcp_url),
            "{label}: {inserted}"
        );
        assert_eq!(
            client.layout().current(&after).unwrap(),
            Some(client.entry(&target)),
            "{label}"
        );
        assert_eq!(setup_of(&files).status, ClientStatus::Installed, "{label}");
        assert!(!files.install(client, &target).unwrap().changed, "{label}");

        // Import reads the person's server (and Portcullis's own, which the gateway leaves out).
        let names: Vec<String> = crate::config::import_servers(&path)
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert!(names.contains(&other.to_owned()), "{label}: {names:?}");
        assert!(
            names.contains(&"portcullis".to_owned()),
            "{label}: {names:?}"
        );

        let undone = files.undo(client).unwrap();
        assert_eq!(undone.restored_from, done.backup, "{label}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), sample, "{label}");
    }
}

#[test]
fn new_clients_files_are_created_and_undo_removes_them() {
    let (_dir, files, target) = setup();
    for client in [
        Client::Codex,
        Client::Zed,
        Client::Cline,
        Client::Continue,
        Client::OpenCode,
        Client::Goose,
    ] {
        let done = files.install(client, &target).unwrap();
        assert!(done.backup.is_none());
        let text = std::fs::read_to_string(&done.path).unwrap();
        assert_eq!(
            client.layout().current(&text).unwrap(),
            Some(client.entry(&target)),
            "{}",
            client.label()
        );
        files.undo(client).unwrap();
        assert!(!done.path.exists());
    }
}

/// With a profile, the command a client starts serves it (over HTTP the
/// client's token is bound to it instead, by the gateway).
#[test]
fn a_profile_reaches_the_command_a_client_starts() {
    let (_dir, _files, plain) = setup();
    let target = Target {
        profile: Some("coding".into()),
        ..plain.clone()
    };
    let entry = Client::ClaudeDesktop.entry(&target);
    assert_eq!(
        entry["args"],
        serde_json::json!(["stdio", "--profile", "coding"]),
        "{entry}"
    );
    assert_eq!(
        Client::ClaudeDesktop.entry(&plain)["args"],
        serde_json::json!(["stdio"])
    );
    assert_eq!(Client::Cursor.entry(&target), Client::Cursor.entry(&plain));
}
