//! `portcullis upstream approve|block`: through the running gateway when
//! there is one (so it acts at once), else straight in the store.

use anyhow::Context;
use portcullis::api::AdminClient;
use portcullis::config::Paths;
use portcullis::store::Store;
use portcullis::trust::{Actor, ServerState, ToolSelection};
use serde_json::{json, Value};

use super::args::DecideArgs;

pub(crate) async fn decide(a: DecideArgs, approve: bool) -> anyhow::Result<()> {
    let paths = Paths::resolve(a.config.config.as_deref())?;
    let verb = if approve { "approve" } else { "block" };
    let selection = if a.all_tools {
        Some(ToolSelection::All)
    } else if a.tools.is_empty() {
        None
    } else {
        Some(ToolSelection::names(
            a.tools
                .iter()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty()),
        ))
    };
    let outcome: Value = match AdminClient::discover(&paths) {
        Some(client) => {
            let body = json!({ "tools": a.tools, "all_tools": a.all_tools });
            client
                .post(
                    &format!("servers/{}/{verb}", a.name),
                    &body,
                    &paths.runtime_file(),
                )
                .await?
        }
        None => {
            let store = Store::open(paths.database())
                .with_context(|| format!("opening {}", paths.database().display()))?;
            if store.server(&a.name)?.is_none() {
                anyhow::bail!("server `{}` is not known to Portcullis yet\nhint: add it with `portcullis upstream add --name {} ...`, or start the gateway once so it sees the config", a.name, a.name);
            }
            match selection {
                Some(sel) => {
                    let statuses = if approve {
                        store.approve_tools(&a.name, &sel, Actor::Cli)?
                    } else {
                        store.block_tools(&a.name, &sel, Actor::Cli)?
                    };
                    let mut server_state = store.server(&a.name)?.map(|s| s.state);
                    if approve && server_state == Some(ServerState::Pending) {
                        server_state = Some(
                            store
                                .set_server_state(&a.name, ServerState::Trusted, Actor::Cli)?
                                .state,
                        );
                    }
                    json!({ "server": a.name, "server_state": server_state, "tools": statuses.into_iter().map(|s| (s.name, s.state)).collect::<Vec<_>>() })
                }
                None => {
                    let state = if approve {
                        ServerState::Trusted
                    } else {
                        ServerState::Blocked
                    };
                    let info = store.set_server_state(&a.name, state, Actor::Cli)?;
                    json!({ "server": a.name, "server_state": info.state, "tools": [] })
                }
            }
        }
    };
    let state = outcome
        .get("server_state")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let tools: Vec<String> = outcome
        .get("tools")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(|p| Some(format!("{} ({})", p.get(0)?.as_str()?, p.get(1)?.as_str()?)))
                .collect()
        })
        .unwrap_or_default();
    println!("server `{}`: {state}", a.name);
    if !tools.is_empty() {
        println!("tools: {}", tools.join(", "));
    } else if a.all_tools && approve {
        println!("no tool changed state: Portcullis knows no pending tool of `{}` yet.\nhint: once the gateway has started it, `portcullis tools pending` lists its tools; approve them then", a.name);
    } else if a.all_tools || !a.tools.is_empty() {
        println!("no tool changed state");
    }
    Ok(())
}
