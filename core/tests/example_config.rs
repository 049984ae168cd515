//! Every example config shipped in the repository parses and resolves:
//! `config.example.toml` at the root, and each ```toml block of `README.md`.
//! A renamed or removed option then breaks this test, not a reader's setup.

use std::path::{Path, PathBuf};
use std::time::Duration;

use portcullis::config::{
    ConfigFile, Isolation, MountSpec, Network, Overrides, Settings, SurfaceMode, TransportKind,
    TransportSettings, DEFAULT_CPUS, DEFAULT_MEMORY, DEFAULT_PIDS,
};

fn repo_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name)
}

fn resolve(text: &str, path: &Path) -> Settings {
    let file = ConfigFile::parse(text, path).unwrap_or_else(|e| panic!("{e}"));
    // `--listen` given, so a PORTCULLIS_LISTEN in the environment cannot change the result.
    let overrides = Overrides {
        listen: file.gateway.listen.clone(),
    };
    Settings::resolve(&file, &overrides, path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn config_example_parses_and_resolves() {
    let path = repo_file("config.example.toml");
    let text = std::fs::read_to_string(&path).expect("config.example.toml at the repository root");
    let s = resolve(&text, &path);

    assert_eq!(s.listen.to_string(), "127.0.0.1:7331");
    assert_eq!(s.surface, SurfaceMode::Search);
    assert_eq!(s.separator, "__");
    assert!(s.prefix);
    assert_eq!(s.call_timeout, Duration::from_secs(60));
    assert_eq!(s.max_message_bytes, 16 * 1024 * 1024);
    assert_eq!(
        s.limits,
        portcullis::config::Limits::default(),
        "the example shows the default limits"
    );
    assert!(s.allowed_origins.is_empty());

    let names: Vec<&str> = s.servers.keys().map(String::as_str).collect();
    for expected in ["github", "time", "docs", "fs", "fetch", "legacy"] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }

    let github = &s.servers["github"];
    assert!(github.enabled);
    assert_eq!(github.call_timeout, Duration::from_secs(120));
    match &github.transport {
        TransportSettings::Stdio {
            command,
            args,
            env,
            cwd,
        } => {
            assert_eq!(command, "npx");
            assert_eq!(args, &["-y", "@modelcontextprotocol/server-github"]);
            assert_eq!(
                env["GITHUB_PERSONAL_ACCESS_TOKEN"].secret_name(),
                Some("github-pat"),
                "the example keeps its token in the keyring, by name"
            );
            assert!(cwd.is_none());
        }
        other => panic!("github should be a program, got {other:?}"),
    }

    let time = &s.servers["time"];
    assert_eq!(
        time.call_timeout,
        Duration::from_secs(60),
        "inherits [gateway] timeout"
    );
    match &time.transport {
        TransportSettings::Stdio {
            command, args, cwd, ..
        } => {
            assert_eq!(command, "uvx");
            assert_eq!(args[0], "mcp-server-time");
            assert_eq!(cwd.as_deref(), Some(Path::new("/tmp")));
        }
        other => panic!("time should be a program, got {other:?}"),
    }

    let docs = &s.servers["docs"];
    assert_eq!(docs.call_timeout, Duration::from_millis(30_500));
    match &docs.transport {
        TransportSettings::Http { url, headers, kind } => {
            assert_eq!(url, "https://mcp.example.com/mcp");
            assert_eq!(headers["Authorization"].secret_name(), Some("docs-bearer"));
            assert_eq!(*kind, TransportKind::StreamableHttp);
        }
        other => panic!("docs should be HTTP, got {other:?}"),
    }

    assert_eq!(
        github.isolation,
        Isolation::None,
        "isolation is off unless asked for"
    );
    let fs = &s.servers["fs"];
    assert_eq!(fs.label(), "docker");
    match &fs.isolation {
        Isolation::Docker(d) => {
            assert_eq!(d.image, "node:22-slim");
            assert_eq!(d.network, Network::On);
            assert_eq!(
                d.mounts,
                [MountSpec::parse("/home/me/projects:/projects:ro").unwrap()]
            );
            assert!(d.mounts[0].read_only);
            assert_eq!(
                (d.memory, d.cpus, d.pids),
                (DEFAULT_MEMORY, DEFAULT_CPUS, DEFAULT_PIDS),
                "the example shows the defaults"
            );
        }
        other => panic!("fs should be isolated, got {other:?}"),
    }

    let files = &s.servers["files"];
    assert_eq!(files.label(), "sandbox");
    match &files.isolation {
        Isolation::Sandbox(b) => {
            match &b.network {
                Network::Allow(list) => {
                    assert_eq!(list.specs(), ["registry.npmjs.org:443"]);
                    assert!(list.allows("registry.npmjs.org", 443));
                }
                other => panic!("files should have an allow list, got {other:?}"),
            }
            assert_eq!(
                b.mounts,
                [MountSpec::parse_in_place("/home/me/notes:rw").unwrap()]
            );
            assert!(!b.mounts[0].read_only);
            assert_eq!(
                (b.memory, b.pids),
                (DEFAULT_MEMORY, DEFAULT_PIDS),
                "the example shows the defaults"
            );
        }
        other => panic!("files should be sandboxed, got {other:?}"),
    }

    assert!(!s.servers["fetch"].enabled);
    let legacy = &s.servers["legacy"];
    assert!(!legacy.enabled);
    assert_eq!(legacy.transport.label(), "sse");
}

/// The options a table accepts, read from the parser's own "unknown field" error,
/// so this list follows core/src/config/file.rs without being copied from it.
fn known_options(table: &str) -> Vec<String> {
    let text = format!("{table}\nzz_not_an_option = 1\n");
    let err = ConfigFile::parse(&text, Path::new("probe.toml"))
        .expect_err("an unknown option must be refused")
        .to_string();
    let expected = err
        .split_once("expected")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no option list in: {err}"));
    let options: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    assert!(!options.is_empty(), "no option list in: {err}");
    options
}

#[test]
fn config_example_documents_every_option() {
    let text = std::fs::read_to_string(repo_file("config.example.toml")).unwrap();
    let shown = |option: &str| {
        text.lines().any(|l| {
            l.trim_start_matches(['#', ' '])
                .starts_with(&format!("{option} ="))
                || (option == "oauth"
                    && l.starts_with("[servers.")
                    && l.trim_end().ends_with(".oauth]"))
        })
    };
    for table in [
        "[gateway]",
        "[servers.probe]",
        "[servers.probe.oauth]",
        "[limits]",
        "[telemetry]",
        "[registry]",
    ] {
        for option in known_options(table) {
            assert!(
                shown(&option),
                "config.example.toml does not show `{option} = ...` of {table}"
            );
        }
    }
}

#[test]
fn readme_toml_blocks_parse_and_resolve() {
    let path = repo_file("README.md");
    let text = std::fs::read_to_string(&path).expect("README.md at the repository root");
    let mut blocks = 0;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        // Blocks of other programs' TOML say whose (```toml codex).
        if line.trim() == "```toml" {
            let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            resolve(&block.join("\n"), &path);
            blocks += 1;
        }
    }
    assert!(blocks > 0, "README.md has no ```toml block to check");
}
