//! `portcullis profile …`: named views of the gateway in the config
//! (`[profiles.NAME]`). The change goes to the file, keeping the person's
//! comments; a running gateway applies it within a second.

use portcullis::config::{ConfigEditor, Overrides, Paths, ProfileConfig, Settings, SurfaceMode};
use portcullis::serve::load_settings;
use portcullis::store::Store;
use portcullis::ProfileView;

use super::args::{ProfileCommand, SurfaceArg};

pub(crate) async fn run(cmd: ProfileCommand) -> anyhow::Result<()> {
    match cmd {
        ProfileCommand::Add {
            name,
            servers,
            tools,
            description,
            surface,
            replace,
            config,
        } => {
            let paths = Paths::resolve(config.config.as_deref())?;
            if !replace
                && ConfigEditor::open(&paths.config)?
                    .profile_names()
                    .contains(&name)
            {
                fail!(
                    hint = format!(
                        "pass --replace to write it anew, or `portcullis profile rm {name}` first"
                    ),
                    "a profile named `{name}` exists already"
                );
            }
            let profile = ProfileConfig {
                description,
                servers,
                tools,
                surface: surface.map(|s| match s {
                    SurfaceArg::Direct => SurfaceMode::Direct,
                    SurfaceArg::Search => SurfaceMode::Search,
                }),
            };
            portcullis::put_profile(&paths, &name, &profile)?;
            let (_, settings) = load_settings(config.config.as_deref(), &Overrides::default())?;
            let view = views(&paths, &settings)
                .into_iter()
                .find(|v| v.name == name);
            println!(
                "profile `{name}` saved: served at http://{}/mcp/p/{name}",
                settings.listen
            );
            if let Some(v) = view {
                print_coverage(&v);
            }
            println!("bind a client to it with `portcullis client add NAME --profile {name}`");
            Ok(())
        }
        ProfileCommand::List { json, config } => {
            let (paths, settings) = load_settings(config.config.as_deref(), &Overrides::default())?;
            let views = views(&paths, &settings);
            if json {
                println!("{}", serde_json::to_string_pretty(&views)?);
                return Ok(());
            }
            if views.is_empty() {
                println!("no profiles: every client sees every server (portcullis profile add NAME --servers a,b makes one)");
                return Ok(());
            }
            for v in &views {
                let surface = match v.config.surface {
                    Some(SurfaceMode::Direct) => " (direct)",
                    Some(SurfaceMode::Search) => " (search)",
                    None => "",
                };
                println!("{}  /mcp/p/{}{surface}", v.name, v.name);
                if let Some(d) = &v.config.description {
                    println!("  {d}");
                }
                println!("  servers: {}", v.config.servers.join(", "));
                if let Some(t) = &v.config.tools {
                    println!("  tools:   {}", t.join(", "));
                }
                print_coverage(v);
                if !v.clients.is_empty() {
                    println!("  clients: {}", v.clients.join(", "));
                }
            }
            Ok(())
        }
        ProfileCommand::Rm { name, config } => {
            let (paths, settings) = load_settings(config.config.as_deref(), &Overrides::default())?;
            let bound = views(&paths, &settings)
                .into_iter()
                .find(|v| v.name == name)
                .map(|v| v.clients)
                .unwrap_or_default();
            portcullis::remove_profile(&paths, &name)?;
            println!("removed profile `{name}`: /mcp/p/{name} no longer serves");
            if !bound.is_empty() {
                println!(
                    "warning: the tokens of {} are bound to it and are refused until you give them new ones (`portcullis client add NAME --profile OTHER`, or without --profile)",
                    bound.join(", ")
                );
            }
            Ok(())
        }
    }
}

/// The profiles with the clients bound to each (none if the store cannot be read).
fn views(paths: &Paths, settings: &Settings) -> Vec<ProfileView> {
    let clients = Store::open(paths.database())
        .ok()
        .and_then(|store| portcullis::list_clients(&store).ok())
        .unwrap_or_default();
    portcullis::profile_views(settings, &clients)
}

fn print_coverage(v: &ProfileView) {
    if v.covers.is_empty() {
        println!("  covers:  no configured server");
    } else {
        println!("  covers:  {}", v.covers.join(", "));
    }
    if !v.unmatched.is_empty() {
        println!(
            "  warning: {} match no configured server (`portcullis upstream list` shows them)",
            v.unmatched.join(", ")
        );
    }
}
