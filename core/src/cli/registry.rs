//! `portcullis registry …`: reads the registry `[registry] url` names and
//! adds a server the way `upstream add` does (straight into the config file,
//! which a running gateway applies within a second).

use std::io::{IsTerminal, Write};

use portcullis::api::AdminClient;
use portcullis::config::{ConfigFile, IsolationKind, Overrides, Paths, Settings};
use portcullis::registry::{
    inputs, InstallRequest, RegistryClient, RegistryError, ServerResponse, Via,
};
use portcullis::{RegistryServerView, ServerEditor};

use super::args::{ConfigArgs, RegistryAddArgs, RegistryCommand};

pub(crate) async fn run(cmd: RegistryCommand) -> anyhow::Result<()> {
    match cmd {
        RegistryCommand::Search {
            text,
            limit,
            json,
            config,
        } => search(&text, limit, json, &config).await,
        RegistryCommand::Show {
            name,
            version,
            json,
            config,
        } => show(&name, version.as_deref(), json, &config).await,
        RegistryCommand::Add(a) => add(a).await,
    }
}

fn client(config: &ConfigArgs) -> anyhow::Result<(Paths, RegistryClient)> {
    let paths = Paths::resolve(config.config.as_deref())?;
    let file = ConfigFile::load(&paths.config)?;
    let settings = Settings::resolve(&file, &Overrides::default(), &paths.config)?;
    Ok((paths, RegistryClient::new(settings.registry.url)))
}

async fn search(text: &str, limit: u32, json: bool, config: &ConfigArgs) -> anyhow::Result<()> {
    let (_, registry) = client(config)?;
    let page = registry.search(text, limit, None).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(());
    }
    if page.servers.is_empty() {
        println!("no server in {} matches `{text}`", registry.url());
        return Ok(());
    }
    let w_name = page
        .servers
        .iter()
        .map(|s| s.server.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let w_ver = page
        .servers
        .iter()
        .map(|s| s.server.version.len())
        .max()
        .unwrap_or(7)
        .max(7);
    println!(
        "{:<w_name$}  {:<w_ver$}  {:<50}  OFFERS",
        "NAME", "VERSION", "DESCRIPTION"
    );
    for s in &page.servers {
        let d = &s.server;
        let description: String = d.description.chars().take(50).collect();
        println!(
            "{:<w_name$}  {:<w_ver$}  {description:<50}  {}",
            d.name,
            d.version,
            d.offers()
        );
    }
    if page
        .metadata
        .next_cursor
        .as_deref()
        .is_some_and(|c| !c.is_empty())
    {
        println!("(more in the registry: narrow the search, or raise --limit)");
    }
    Ok(())
}

async fn show(
    name: &str,
    version: Option<&str>,
    json: bool,
    config: &ConfigArgs,
) -> anyhow::Result<()> {
    let (_, registry) = client(config)?;
    let view = RegistryServerView::new(registry.server(name, version).await?);
    if json {
        println!("{}", serde_json::to_string_pretty(&view)?);
        return Ok(());
    }
    let d = &view.response.server;
    println!("{} {}", d.name, d.version);
    if let Some(t) = &d.title {
        println!("  title:       {t}");
    }
    println!("  description: {}", d.description);
    if let Some(status) = view
        .response
        .meta
        .official
        .as_ref()
        .and_then(|o| o.status.as_deref())
    {
        println!("  status:      {status}");
    }
    if let Some(r) = &d.repository {
        println!("  repository:  {}", r.url);
    }
    if let Some(w) = &d.website_url {
        println!("  website:     {w}");
    }
    for p in &d.packages {
        println!("  package:     {}", p.summary());
    }
    for r in &d.remotes {
        println!("  remote:      {} {}", r.kind, r.url);
    }
    for (what, list) in [
        ("package", &view.package_inputs),
        ("remote", &view.remote_inputs),
    ] {
        let Some(list) = list.as_ref().filter(|l| !l.is_empty()) else {
            continue;
        };
        println!("  values its {what} takes (--env KEY=VALUE):");
        for i in list {
            let need = if i.required { "required" } else { "optional" };
            let default = i
                .default
                .as_deref()
                .map(|d| format!(", default {d}"))
                .unwrap_or_default();
            println!("    {}  ({need}{default})", i.describe());
        }
    }
    if view.package_inputs.is_none() && view.remote_inputs.is_none() {
        println!(
            "  Portcullis cannot run this server (no npm or PyPI package over stdio, no remote)"
        );
    } else {
        println!("add it: portcullis registry add {}", d.name);
    }
    Ok(())
}

async fn add(a: RegistryAddArgs) -> anyhow::Result<()> {
    let (paths, registry) = client(&a.config)?;
    let isolation = (a.isolation.as_deref())
        .map(|text| IsolationKind::parse_choice("--isolation", text))
        .transpose()?;
    let mut request = InstallRequest {
        local_name: a.local_name,
        via: a.remote.then_some(Via::Remote),
        isolation,
        values: Default::default(),
    };
    for item in &a.values {
        let Some((k, v)) = item.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            fail!(
                hint = "write it as --env NAME=VALUE",
                "--env `{item}` is not KEY=VALUE"
            );
        };
        request.values.insert(k.to_owned(), v.to_owned());
    }
    let response = registry.server(&a.name, a.version.as_deref()).await?;
    ask_missing(&response, &mut request)?;
    let done = ServerEditor::new(&paths).add_from_registry(&response, &request)?;
    for w in &done.warnings {
        eprintln!("warning: {w}");
    }
    for m in &done.moved {
        println!("{}; the config refers to it by name", m.describe());
    }
    println!(
        "added `{}` ({} {}: {}) to {}",
        done.name,
        done.registry_name,
        done.version,
        done.source,
        paths.config.display()
    );
    println!("its tools wait for approval: `portcullis tools pending`, then `portcullis upstream approve --name {} --all-tools`", done.name);
    if AdminClient::discover(&paths).is_some() {
        println!("the running gateway starts it within a second; `portcullis upstream list` shows its state");
    }
    Ok(())
}

/// At a terminal, asks for each required value not given (secrets without
/// echo); elsewhere the add fails naming the flags to pass.
fn ask_missing(response: &ServerResponse, request: &mut InstallRequest) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        return Ok(());
    }
    let wanted = inputs(&response.server, request.via).map_err(anyhow::Error::from)?;
    for i in wanted.iter().filter(|i| i.required && i.default.is_none()) {
        if request.values.contains_key(&i.key) {
            continue;
        }
        eprint!(
            "{}{}: ",
            i.describe(),
            if i.secret { " (not shown)" } else { "" }
        );
        std::io::stderr().flush()?;
        let read = || {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line)
        };
        let line = if i.secret {
            super::secret::without_echo(read)?
        } else {
            read()?
        };
        if i.secret {
            eprintln!();
        }
        let value = line.trim_end_matches(['\r', '\n']).to_owned();
        if value.is_empty() {
            return Err(RegistryError::MissingValues {
                name: response.server.name.clone(),
                missing: vec![i.clone()],
            }
            .into());
        }
        request.values.insert(i.key.clone(), value);
    }
    Ok(())
}
