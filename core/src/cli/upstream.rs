//! `portcullis upstream …`: edits the config file (keeping comments and
//! order); a running gateway notices the change and applies it. `list` asks
//! the running gateway for live state, or reads the config when none runs.

use anyhow::bail;
use indexmap::IndexMap;
use portcullis::api::AdminClient;
use portcullis::config::{
    import_servers, split_words, ConfigFile, IsolationKind, NetworkConfig, Overrides, Paths,
    ServerConfig, Settings, TransportKind, ValueOrSecret,
};
use portcullis::secrets::SealOptions;
use portcullis::store::Store;
use portcullis::trust::ServerState;
use portcullis::upstream::UpstreamState;
use portcullis::{ServerEditor, ServerView};

use super::args::{AddArgs, ConfigArgs, UpstreamCommand};

pub(crate) async fn run(cmd: UpstreamCommand) -> anyhow::Result<()> {
    match cmd {
        UpstreamCommand::Add(a) => add(*a),
        UpstreamCommand::List { json, config } => list(json, &config).await,
        UpstreamCommand::Remove { name, config } => {
            edit(&config, |ed| ed.remove(&name), &format!("removed `{name}`"))
        }
        UpstreamCommand::Enable { name, config } => edit(
            &config,
            |ed| ed.set_enabled(&name, true),
            &format!("enabled `{name}`"),
        ),
        UpstreamCommand::Disable { name, config } => edit(
            &config,
            |ed| ed.set_enabled(&name, false),
            &format!("disabled `{name}`"),
        ),
        UpstreamCommand::Import { file, config } => import(&file, &config),
        UpstreamCommand::Login {
            name,
            no_browser,
            timeout,
            config,
        } => login(&name, no_browser, timeout, &config).await,
        UpstreamCommand::Approve(a) => super::decide::decide(a, true).await,
        UpstreamCommand::Block(a) => super::decide::decide(a, false).await,
    }
}

fn paths(config: &ConfigArgs) -> anyhow::Result<Paths> {
    Ok(Paths::resolve(config.config.as_deref())?)
}

fn edit(
    config: &ConfigArgs,
    f: impl FnOnce(&ServerEditor) -> Result<(), portcullis::GatewayError>,
    done: &str,
) -> anyhow::Result<()> {
    let paths = paths(config)?;
    f(&ServerEditor::new(&paths))?;
    println!("{done} in {}", paths.config.display());
    Ok(())
}

fn key_values(items: &[String], what: &str) -> anyhow::Result<Option<IndexMap<String, String>>> {
    let mut map = IndexMap::new();
    for item in items {
        let Some((k, v)) = item.split_once('=') else {
            fail!(
                hint = format!("write it as --{what} NAME=VALUE"),
                "--{what} `{item}` is not K=V"
            )
        };
        if k.is_empty() {
            fail!(
                hint = format!("write it as --{what} NAME=VALUE"),
                "--{what} `{item}` has an empty name"
            );
        }
        map.insert(k.to_owned(), v.to_owned());
    }
    Ok((!map.is_empty()).then_some(map))
}

/// Splits `--args` values the way a shell would (quotes group words).
fn split_args(values: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for v in values {
        out.extend(
            split_words(v).map_err(|_| anyhow::anyhow!("--args `{v}` has an unclosed quote"))?,
        );
    }
    Ok(out)
}

fn add(a: AddArgs) -> anyhow::Result<()> {
    if a.command.is_none() && a.url.is_none() {
        fail!(hint = "e.g. portcullis upstream add --name time --command uvx --args mcp-server-time", "`upstream add` needs --command (a program speaking MCP over stdio) or --url (an HTTP server)");
    }
    let transport = match a.transport.as_deref() {
        None => None,
        Some(t) => match TransportKind::parse(t) {
            Some(k) => Some(k),
            None => fail!(
                hint = "use streamable-http, sse or auto",
                "--transport `{t}` is not known"
            ),
        },
    };
    let isolation = (a.isolation.as_deref())
        .map(|text| IsolationKind::parse_choice("--isolation", text))
        .transpose()?;
    let args = split_args(&a.args)?;
    let mut plain = std::collections::HashSet::new();
    let mut merged = |sealed: &[String], kept: &[String], what: &str| -> anyhow::Result<_> {
        let mut map = key_values(sealed, what)?.unwrap_or_default();
        for (k, v) in key_values(kept, &format!("plain-{what}"))?.unwrap_or_default() {
            plain.insert(k.clone());
            map.insert(k, v);
        }
        Ok((!map.is_empty()).then(|| ValueOrSecret::plain_map(map)))
    };
    let env = merged(&a.env, &a.plain_env, "env")?;
    let headers = merged(&a.header, &a.plain_header, "header")?;
    let server = ServerConfig {
        command: a.command,
        args: (!args.is_empty()).then_some(args),
        env,
        cwd: a.cwd,
        url: a.url,
        headers,
        transport,
        enabled: a.disabled.then_some(false),
        timeout: a.timeout,
        isolation,
        image: a.image,
        network: if a.allow_host.is_empty() {
            a.network.then_some(NetworkConfig::Switch(true))
        } else {
            Some(NetworkConfig::AllowList(a.allow_host))
        },
        mounts: (!a.mount.is_empty()).then_some(a.mount),
        memory: a.memory,
        cpus: a.cpus,
        pids: a.pids,
        user: None,
        protocol: None,
        oauth: None,
        passthrough: None,
        max_concurrent: a.max_concurrent,
        max_queue: a.max_queue,
        start: a
            .on_demand
            .then_some(portcullis::config::StartMode::OnDemand),
        idle_stop: a.idle_stop,
    };
    let paths = paths(&a.config)?;
    // A person added it: it may start to show its tools (they stay pending).
    let done = ServerEditor::new(&paths)
        .sealing(SealOptions { plain })
        .add(&a.name, &server)?;
    for w in &done.warnings {
        eprintln!("warning: {w}");
    }
    print_moved(&done.moved);
    println!("added `{}` to {}", a.name, paths.config.display());
    if AdminClient::discover(&paths).is_some() {
        println!("the running gateway starts it within a second; `portcullis upstream list` shows its state");
    }
    Ok(())
}

fn import(file: &std::path::Path, config: &ConfigArgs) -> anyhow::Result<()> {
    let paths = paths(config)?;
    let servers = import_servers(file)?;
    let done = ServerEditor::new(&paths).import(&servers)?;
    for w in &done.warnings {
        eprintln!("warning: {w}");
    }
    print_moved(&done.moved);
    let added = &done.added;
    println!(
        "imported {} server(s) into {}: {}",
        added.len(),
        paths.config.display(),
        if added.is_empty() {
            "none".into()
        } else {
            added.join(", ")
        }
    );
    if !done.skipped.is_empty() {
        println!(
            "skipped (a server of that name exists): {}",
            done.skipped.join(", ")
        );
    }
    Ok(())
}

/// Says which values went to the keyring instead of the file.
fn print_moved(moved: &[portcullis::secrets::Moved]) {
    for m in moved {
        println!("{}; the config refers to it by name", m.describe());
    }
    if !moved.is_empty() {
        println!(
            "(to keep a value in the file instead, give it with --plain-env or --plain-header)"
        );
    }
}

/// What a server's state is while no gateway runs: its approval, else stopped or disabled.
fn offline_state(
    approvals: &std::collections::HashMap<String, ServerState>,
    name: &str,
    enabled: bool,
) -> UpstreamState {
    match approvals.get(name) {
        _ if !enabled => UpstreamState::Disabled,
        Some(ServerState::Blocked) => UpstreamState::Blocked,
        Some(ServerState::Trusted) => UpstreamState::Stopped,
        _ => UpstreamState::Pending,
    }
}

async fn list(json: bool, config: &ConfigArgs) -> anyhow::Result<()> {
    let paths = paths(config)?;
    let views: Vec<ServerView> = match AdminClient::discover(&paths) {
        Some(client) => client.get("servers", &paths.runtime_file()).await?,
        None => {
            let file = ConfigFile::load(&paths.config)?;
            let settings = Settings::resolve(&file, &Overrides::default(), &paths.config)?;
            // The store may not exist yet (nothing was ever approved): then every server is pending.
            let approvals: std::collections::HashMap<String, ServerState> =
                if paths.database().exists() {
                    Store::open(paths.database())?
                        .servers()?
                        .into_iter()
                        .map(|s| (s.name, s.state))
                        .collect()
                } else {
                    std::collections::HashMap::new()
                };
            settings
                .servers
                .values()
                .map(|s| ServerView {
                    name: s.name.clone(),
                    transport: s.label().to_owned(),
                    launch: s.transport.summary(),
                    state: offline_state(&approvals, &s.name, s.enabled),
                    tools: 0,
                    last_error: None,
                    stderr_tail: Vec::new(),
                    log: paths
                        .logs()
                        .join(format!("{}.log", s.name))
                        .display()
                        .to_string(),
                    restarts: 0,
                    restart_reason: None,
                    protocol_version: None,
                    pid: None,
                    sign_in_url: None,
                    items_read: false,
                    load: None,
                    calls: Default::default(),
                })
                .collect()
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&views)?);
        return Ok(());
    }
    if views.is_empty() {
        println!("no servers configured in {}\nadd one: portcullis upstream add --name time --command uvx --args mcp-server-time", paths.config.display());
        return Ok(());
    }
    let state = |v: &ServerView| {
        serde_json::to_value(v.state)
            .ok()
            .and_then(|s| s.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let w_name = views.iter().map(|v| v.name.len()).max().unwrap_or(4).max(4);
    let w_tr = views
        .iter()
        .map(|v| v.transport.len())
        .max()
        .unwrap_or(9)
        .max(9);
    println!(
        "{:<w_name$}  {:<w_tr$}  {:<9}  {:>5}  {:>9}  {:>7}  LAST ERROR",
        "NAME", "TRANSPORT", "STATE", "TOOLS", "CALLS/MIN", "P50"
    );
    for v in &views {
        let err = v
            .last_error
            .as_deref()
            .and_then(|e| e.lines().next())
            .unwrap_or("-");
        let p50 = v
            .calls
            .p50_ms
            .map_or("-".to_owned(), |ms| format!("{ms} ms"));
        println!(
            "{:<w_name$}  {:<w_tr$}  {:<9}  {:>5}  {:>9}  {:>7}  {}",
            v.name,
            v.transport,
            state(v),
            v.tools,
            v.calls.per_minute,
            p50,
            err
        );
        // Said once: while the reason is still the last error, that column shows it.
        if let Some(why) = v
            .restart_reason
            .as_deref()
            .filter(|r| v.last_error.as_deref() != Some(*r))
            .and_then(|e| e.lines().next())
        {
            println!(
                "{:<w_name$}  restarted {} time(s); the last time: {why}",
                "", v.restarts
            );
        }
        if let Some(url) = &v.sign_in_url {
            println!("{:<w_name$}  sign in: {url}\n{:<w_name$}  (or run: portcullis upstream login --name {})", "", "", v.name);
        }
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct SignIn {
    url: Option<String>,
}

/// Asks the running gateway for the sign-in URL, shows it, waits until the server is signed in.
async fn login(
    name: &str,
    no_browser: bool,
    timeout: u64,
    config: &ConfigArgs,
) -> anyhow::Result<()> {
    let paths = paths(config)?;
    let Some(client) = AdminClient::discover(&paths) else {
        fail!(
            hint = "start it with `portcullis serve` (signing in needs its callback listener)",
            "no running gateway found"
        );
    };
    let runtime = paths.runtime_file();
    let sign_in: SignIn = client
        .post(
            &format!("servers/{name}/login"),
            &serde_json::json!({}),
            &runtime,
        )
        .await?;
    let Some(url) = sign_in.url else {
        println!("signed in to `{name}` with its client credentials (no browser needed)");
        return Ok(());
    };
    if !portcullis::is_web_link(&url) {
        fail!(hint = "the server's authorization server is misconfigured or hostile; ask its operator", "the sign-in link for `{name}` is not an http(s) URL, so Portcullis neither shows nor opens it");
    }
    println!("Open this URL in a browser to sign in to `{name}`:\n\n  {url}\n");
    if !no_browser {
        let opened = std::process::Command::new("xdg-open")
            .arg(&url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        if !matches!(opened, Ok(s) if s.success()) {
            println!("(no browser could be opened here; open the URL yourself)");
        }
    }
    println!("waiting for the sign-in to complete…");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(timeout);
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let views: Vec<ServerView> = client.get("servers", &runtime).await?;
        let Some(v) = views.iter().find(|v| v.name == name) else {
            bail!("server `{name}` is gone from the gateway")
        };
        if v.sign_in_url.is_none() && v.state != UpstreamState::NeedsSignIn {
            if v.state == UpstreamState::Ready {
                println!("signed in; `{name}` is ready with {} tools", v.tools);
                return Ok(());
            }
            if v.state != UpstreamState::Starting {
                let err = v.last_error.clone().unwrap_or_default();
                bail!("`{name}` is {:?} after the sign-in: {err}", v.state);
            }
        }
        if std::time::Instant::now() > deadline {
            fail!(hint = format!("run `portcullis upstream login --name {name}` again; the URL stays valid while the gateway runs"), "the sign-in did not complete within {timeout} s");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_args;

    #[test]
    fn splits_like_a_shell() {
        let got = split_args(&[
            "-y @scope/pkg".into(),
            "\"a b\" 'c d' e\\ f".into(),
            "--flag=x".into(),
        ])
        .unwrap();
        assert_eq!(got, ["-y", "@scope/pkg", "a b", "c d", "e f", "--flag=x"]);
        assert!(split_args(&["\"open".into()]).is_err());
    }
}
