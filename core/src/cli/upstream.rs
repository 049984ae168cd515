//! `portcullis upstream …`: edits the config file (keeping comments and
//! order); a running gateway notices the change and applies it. `list` asks
//! the running gateway for live state, or reads the config when none runs.

use anyhow::{bail, Context};
use indexmap::IndexMap;
use portcullis::api::AdminClient;
use portcullis::config::{import_servers, ConfigEditor, ConfigFile, IsolationKind, Overrides, Paths, ServerConfig, Settings, TransportKind};
use portcullis::store::Store;
use portcullis::trust::{ServerOrigin, ServerState};
use portcullis::upstream::UpstreamState;
use portcullis::ServerView;

use super::args::{AddArgs, ConfigArgs, UpstreamCommand};

pub(crate) async fn run(cmd: UpstreamCommand) -> anyhow::Result<()> {
    match cmd {
        UpstreamCommand::Add(a) => add(*a),
        UpstreamCommand::List { json, config } => list(json, &config).await,
        UpstreamCommand::Remove { name, config } => edit(&config, |ed| ed.remove_server(&name), &format!("removed `{name}`")),
        UpstreamCommand::Enable { name, config } => edit(&config, |ed| ed.set_enabled(&name, true), &format!("enabled `{name}`")),
        UpstreamCommand::Disable { name, config } => edit(&config, |ed| ed.set_enabled(&name, false), &format!("disabled `{name}`")),
        UpstreamCommand::Import { file, config } => import(&file, &config),
        UpstreamCommand::Approve(a) => super::decide::decide(a, true).await,
        UpstreamCommand::Block(a) => super::decide::decide(a, false).await,
    }
}

fn paths(config: &ConfigArgs) -> anyhow::Result<Paths> {
    Ok(Paths::resolve(config.config.as_deref())?)
}

fn edit(config: &ConfigArgs, f: impl FnOnce(&mut ConfigEditor) -> Result<(), portcullis::config::ConfigError>, done: &str) -> anyhow::Result<()> {
    let paths = paths(config)?;
    let mut ed = ConfigEditor::open(&paths.config)?;
    f(&mut ed)?;
    ed.save()?;
    println!("{done} in {}", paths.config.display());
    Ok(())
}

fn key_values(items: &[String], what: &str) -> anyhow::Result<Option<IndexMap<String, String>>> {
    let mut map = IndexMap::new();
    for item in items {
        let Some((k, v)) = item.split_once('=') else { bail!("--{what} `{item}` is not K=V\nhint: write it as --{what} NAME=VALUE") };
        if k.is_empty() {
            bail!("--{what} `{item}` has an empty name\nhint: write it as --{what} NAME=VALUE");
        }
        map.insert(k.to_owned(), v.to_owned());
    }
    Ok((!map.is_empty()).then_some(map))
}

/// Splits `--args` values the way a shell would (quotes group words).
fn split_args(values: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for v in values {
        let mut word = String::new();
        let mut in_word = false;
        let mut quote: Option<char> = None;
        let mut chars = v.chars();
        while let Some(c) = chars.next() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some('"'), '\\') => word.extend(chars.next()),
                (Some(_), c) => word.push(c),
                (None, '"' | '\'') => {
                    quote = Some(c);
                    in_word = true;
                }
                (None, '\\') => {
                    word.extend(chars.next());
                    in_word = true;
                }
                (None, c) if c.is_whitespace() => {
                    if in_word {
                        out.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                (None, c) => {
                    word.push(c);
                    in_word = true;
                }
            }
        }
        if quote.is_some() {
            bail!("--args `{v}` has an unclosed quote");
        }
        if in_word {
            out.push(word);
        }
    }
    Ok(out)
}

fn add(a: AddArgs) -> anyhow::Result<()> {
    if a.command.is_none() && a.url.is_none() {
        bail!("`upstream add` needs --command (a program speaking MCP over stdio) or --url (an HTTP server)\nhint: e.g. portcullis upstream add --name time --command uvx --args mcp-server-time");
    }
    let transport = match a.transport.as_deref() {
        None => None,
        Some("stdio") => Some(TransportKind::Stdio),
        Some("streamable-http" | "http") => Some(TransportKind::StreamableHttp),
        Some("sse") => Some(TransportKind::Sse),
        Some("auto") => Some(TransportKind::Auto),
        Some(other) => bail!("--transport `{other}` is not known\nhint: use streamable-http, sse or auto"),
    };
    let isolation = match a.isolation.as_deref() {
        None => None,
        Some("none") => Some(IsolationKind::None),
        Some("docker") => Some(IsolationKind::Docker),
        Some(other) => bail!("--isolation `{other}` is not known\nhint: use docker (a hardened container) or none"),
    };
    let args = split_args(&a.args)?;
    let server = ServerConfig {
        command: a.command,
        args: (!args.is_empty()).then_some(args),
        env: key_values(&a.env, "env")?,
        cwd: a.cwd,
        url: a.url,
        headers: key_values(&a.header, "header")?,
        transport,
        enabled: a.disabled.then_some(false),
        timeout: a.timeout,
        isolation,
        image: a.image,
        network: a.network.then_some(true),
        mounts: (!a.mount.is_empty()).then_some(a.mount),
        memory: a.memory,
        cpus: a.cpus,
        pids: a.pids,
    };
    let paths = paths(&a.config)?;
    let mut ed = ConfigEditor::open(&paths.config)?;
    ed.add_server(&a.name, &server)?;
    validate(&ed, &paths)?;
    // A person added it: it may start to show its tools (they stay pending).
    register_person(&paths, &a.name)?;
    ed.save()?;
    println!("added `{}` to {}", a.name, paths.config.display());
    if AdminClient::discover(&paths).is_some() {
        println!("the running gateway starts it within a second; `portcullis upstream list` shows its state");
    }
    Ok(())
}

/// Checks the edited config as `save` will, before anything is recorded in the
/// store: a name registered for an add that then fails (bad URL, bad timeout…)
/// would let a later hand edit under that name start without approval.
/// (Registering before saving stays: a running gateway that read the file first
/// would register the server as pending.)
fn validate(ed: &ConfigEditor, paths: &Paths) -> anyhow::Result<()> {
    let file = ConfigFile::parse(&ed.text(), &paths.config)?;
    Settings::resolve(&file, &Overrides::default(), &paths.config)?;
    Ok(())
}

/// Records that a person added the server, so the gateway starts it (its tools stay pending).
fn register_person(paths: &Paths, name: &str) -> anyhow::Result<()> {
    let store = Store::open(paths.database()).with_context(|| format!("opening {}", paths.database().display()))?;
    store.register_server(name, ServerOrigin::Person)?;
    Ok(())
}

fn import(file: &std::path::Path, config: &ConfigArgs) -> anyhow::Result<()> {
    let paths = paths(config)?;
    let servers = import_servers(file)?;
    let mut ed = ConfigEditor::open(&paths.config)?;
    let existing = ed.server_names();
    let (mut added, mut skipped) = (Vec::new(), Vec::new());
    for s in &servers {
        if existing.contains(&s.name) {
            skipped.push(s.name.clone());
            continue;
        }
        ed.add_server(&s.name, &s.config)?;
        for w in &s.warnings {
            eprintln!("warning: {w}");
        }
        added.push(s.name.clone());
    }
    validate(&ed, &paths)?;
    for name in &added {
        register_person(&paths, name)?;
    }
    ed.save()?;
    println!("imported {} server(s) into {}: {}", added.len(), paths.config.display(), if added.is_empty() { "none".into() } else { added.join(", ") });
    if !skipped.is_empty() {
        println!("skipped (a server of that name exists): {}", skipped.join(", "));
    }
    Ok(())
}

/// What a server's state is while no gateway runs: its approval, else stopped or disabled.
fn offline_state(approvals: &std::collections::HashMap<String, ServerState>, name: &str, enabled: bool) -> UpstreamState {
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
            let approvals: std::collections::HashMap<String, ServerState> = if paths.database().exists() {
                Store::open(paths.database())?.servers()?.into_iter().map(|s| (s.name, s.state)).collect()
            } else {
                std::collections::HashMap::new()
            };
            settings
                .servers
                .values()
                .map(|s| ServerView {
                    name: s.name.clone(),
                    transport: s.label().to_owned(),
                    state: offline_state(&approvals, &s.name, s.enabled),
                    tools: 0,
                    last_error: None,
                    stderr_tail: Vec::new(),
                    log: paths.logs().join(format!("{}.log", s.name)).display().to_string(),
                    restarts: 0,
                    protocol_version: None,
                    pid: None,
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
    let state = |v: &ServerView| serde_json::to_value(v.state).ok().and_then(|s| s.as_str().map(str::to_owned)).unwrap_or_default();
    let w_name = views.iter().map(|v| v.name.len()).max().unwrap_or(4).max(4);
    let w_tr = views.iter().map(|v| v.transport.len()).max().unwrap_or(9).max(9);
    println!("{:<w_name$}  {:<w_tr$}  {:<9}  {:>5}  LAST ERROR", "NAME", "TRANSPORT", "STATE", "TOOLS");
    for v in &views {
        let err = v.last_error.as_deref().and_then(|e| e.lines().next()).unwrap_or("-");
        println!("{:<w_name$}  {:<w_tr$}  {:<9}  {:>5}  {}", v.name, v.transport, state(v), v.tools, err);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::split_args;

    #[test]
    fn splits_like_a_shell() {
        let got = split_args(&["-y @scope/pkg".into(), "\"a b\" 'c d' e\\ f".into(), "--flag=x".into()]).unwrap();
        assert_eq!(got, ["-y", "@scope/pkg", "a b", "c d", "e f", "--flag=x"]);
        assert!(split_args(&["\"open".into()]).is_err());
    }
}
