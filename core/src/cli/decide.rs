//! `portcullis upstream approve|block`: through the running gateway when
//! there is one (so it acts at once), else straight in the store.
//!
//! An approval of tools prints every definition it is about to approve
//! (name, signature, state, hash and findings) and approves exactly those
//! hashes: if the server lists something else by the time the approval
//! lands, nothing is approved and the new definitions are printed instead.
//! Approving a definition with a high-severity finding (with `--tools` or
//! `--all-tools`) asks on a terminal, naming the findings, and needs `--yes`
//! otherwise; the gateway or the store refuses it unconfirmed.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use portcullis::api::{AdminClient, ClientError};
use portcullis::config::Paths;
use portcullis::store::{Store, StoreError};
use portcullis::trust::{
    Actor, HighFindings, ItemKind, Reviewed, ReviewedItem, ServerState, ToolSelection,
};
use serde_json::{json, Value};

use super::args::DecideArgs;
use super::findings::{finding_line, has_high, high_rules};

/// Where decisions go: the running gateway, or the store itself.
enum Target {
    Gateway(AdminClient),
    Store(Store),
}

pub(crate) async fn decide(a: DecideArgs, approve: bool) -> anyhow::Result<()> {
    let paths = Paths::resolve(a.config.config.as_deref())?;
    let tools: Vec<String> = a
        .tools
        .iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    let target = match AdminClient::discover(&paths) {
        Some(client) => Target::Gateway(client),
        None => {
            let store = Store::open(paths.database())
                .with_context(|| format!("opening {}", paths.database().display()))?;
            if store.server(&a.name)?.is_none() {
                fail!(
                    hint = format!("add it with `portcullis upstream add --name {} ...`, or start the gateway once so it sees the config", a.name),
                    "server `{}` is not known to Portcullis yet",
                    a.name
                );
            }
            Target::Store(store)
        }
    };
    if let Some(item) = &a.item {
        let confirm = HighFindings::from_flag(a.yes);
        return decide_item(
            &target,
            &paths,
            &a.name,
            item,
            a.hash.as_deref(),
            approve,
            confirm,
        )
        .await;
    }
    let outcome = if approve && (a.all_tools || !tools.is_empty()) {
        let shown = review(&target, &paths, &a.name, &tools, a.all_tools).await?;
        if shown.is_empty() {
            println!("server `{}`: nothing to approve", a.name);
            println!("no tool changed state: Portcullis knows no pending tool of `{}` yet.\nhint: once the gateway has started it, `portcullis tools pending` lists its tools; approve them then", a.name);
            return Ok(());
        }
        let reviewed: Vec<Reviewed> = match (&a.hash, tools.as_slice()) {
            // The definition the person read earlier: approved only if it is still the current one.
            (Some(hash), [tool]) => vec![Reviewed::new(tool.clone(), hash.trim())],
            (Some(_), _) => anyhow::bail!(
                "--hash names the definition of one tool: give exactly one in --tools"
            ),
            (None, _) => {
                print_definitions(
                    &format!("approving {} of `{}`:", count(shown.len()), a.name),
                    &shown,
                );
                shown
                    .iter()
                    .map(|t| Reviewed::new(text(t, "name"), text(t, "hash")))
                    .collect()
            }
        };
        // Asked here; decided by the gateway (or the store), which refuses
        // an unconfirmed approval of a high-severity finding.
        let confirm = confirm_high(&shown, a.yes)?;
        approve_reviewed(&target, &paths, &a.name, &reviewed, confirm).await?
    } else {
        let selection = if a.all_tools {
            Some(ToolSelection::All)
        } else if tools.is_empty() {
            None
        } else {
            Some(ToolSelection::names(tools.clone()))
        };
        let verb = if approve { "approve" } else { "block" };
        match &target {
            Target::Gateway(client) => {
                let body = json!({ "tools": tools, "all_tools": a.all_tools });
                client
                    .post(
                        &format!("servers/{}/{verb}", a.name),
                        &body,
                        &paths.runtime_file(),
                    )
                    .await?
            }
            Target::Store(store) => match selection {
                Some(sel) => {
                    let statuses = store.block_tools(&a.name, &sel, Actor::Cli)?;
                    let server_state = store.server(&a.name)?.map(|s| s.state);
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
            },
        }
    };
    let state = outcome
        .get("server_state")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let decided: Vec<String> = outcome
        .get("tools")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(|p| Some(format!("{} ({})", p.get(0)?.as_str()?, p.get(1)?.as_str()?)))
                .collect()
        })
        .unwrap_or_default();
    println!("server `{}`: {state}", a.name);
    if !decided.is_empty() {
        println!("tools: {}", decided.join(", "));
    } else if a.all_tools || !tools.is_empty() {
        println!("no tool changed state");
    }
    Ok(())
}

/// `--item KIND:NAME`: approves the definition with `--hash` (one with a
/// high-severity finding only with `--yes`), or blocks it.
async fn decide_item(
    target: &Target,
    paths: &Paths,
    server: &str,
    item: &str,
    hash: Option<&str>,
    approve: bool,
    confirm: HighFindings,
) -> anyhow::Result<()> {
    let Some((kind, name)) = item
        .split_once(':')
        .and_then(|(k, n)| Some((ItemKind::parse(k)?, n.to_owned())))
    else {
        fail!(hint = "kinds are instructions, prompt, resource and resource_template; `portcullis tools pending` prints each item's", "`{item}` is not KIND:NAME");
    };
    let body = match (approve, hash) {
        (true, Some(h)) => json!({
            "items": [{ "kind": kind, "name": name, "hash": h.trim() }],
            "confirm_high": confirm == HighFindings::Confirmed,
        }),
        (true, None) => fail!(
            hint = "`portcullis tools pending` prints it",
            "approving {kind} `{name}` needs --hash with the hash of the definition you read"
        ),
        (false, _) => json!({ "items": [{ "kind": kind, "name": name }] }),
    };
    let verb = if approve { "approve" } else { "block" };
    match target {
        Target::Gateway(client) => {
            let _: Value = client
                .post(
                    &format!("servers/{server}/{verb}"),
                    &body,
                    &paths.runtime_file(),
                )
                .await?;
        }
        Target::Store(store) => {
            let result = match hash {
                Some(h) if approve => store
                    .approve_items(
                        server,
                        &[ReviewedItem {
                            kind,
                            name: name.clone(),
                            hash: h.trim().to_owned(),
                        }],
                        confirm,
                        Actor::Cli,
                    )
                    .map(|_| ()),
                _ => store
                    .block_items(server, &[(kind, name.clone())], Actor::Cli)
                    .map(|_| ()),
            };
            result?;
        }
    }
    println!(
        "{kind} `{name}` of `{server}`: {}",
        if approve { "approved" } else { "blocked" }
    );
    Ok(())
}

/// The definitions an approval is about: the named tools, or every tool of
/// the server that waits for approval.
async fn review(
    target: &Target,
    paths: &Paths,
    server: &str,
    names: &[String],
    all: bool,
) -> anyhow::Result<Vec<Value>> {
    match target {
        Target::Gateway(client) => {
            if all {
                let pending: Vec<Value> =
                    client.get("tools/pending", &paths.runtime_file()).await?;
                return Ok(pending
                    .into_iter()
                    .filter(|t| text(t, "server") == server)
                    .collect());
            }
            let mut out = Vec::new();
            for name in names {
                let path = format!("tools/detail?server={}&tool={}", enc(server), enc(name));
                let mut detail: Value = client.get(&path, &paths.runtime_file()).await?;
                if detail.get("name").is_none() {
                    detail["name"] = name.clone().into();
                }
                out.push(detail);
            }
            Ok(out)
        }
        Target::Store(store) => {
            let tools = if all {
                store
                    .pending_tools()?
                    .into_iter()
                    .filter(|t| t.server == server)
                    .collect()
            } else {
                names
                    .iter()
                    .map(|n| store.tool_for_review(server, n))
                    .collect::<Result<Vec<_>, _>>()?
            };
            Ok(tools
                .into_iter()
                .map(|t| {
                    let signature = portcullis::search::signature(
                        t.definition.get("inputSchema").unwrap_or(&Value::Null),
                    );
                    let mut v = serde_json::to_value(t).unwrap_or_default();
                    v["signature"] = signature.into();
                    v
                })
                .collect())
        }
    }
}

async fn approve_reviewed(
    target: &Target,
    paths: &Paths,
    server: &str,
    reviewed: &[Reviewed],
    confirm: HighFindings,
) -> anyhow::Result<Value> {
    match target {
        Target::Gateway(client) => {
            let body = json!({
                "tools": reviewed,
                "confirm_high": confirm == HighFindings::Confirmed,
            });
            let answer = client
                .post::<Value>(
                    &format!("servers/{server}/approve"),
                    &body,
                    &paths.runtime_file(),
                )
                .await;
            match answer {
                Ok(v) => Ok(v),
                Err(ClientError::Refused {
                    message,
                    hint,
                    changed,
                }) if !changed.is_empty() => {
                    print_definitions("what the server lists now:", &changed);
                    Err(ClientError::Refused {
                        message,
                        hint,
                        changed,
                    }
                    .into())
                }
                Err(e) => Err(e.into()),
            }
        }
        Target::Store(store) => {
            let approval = match store.approve_reviewed(server, reviewed, confirm, Actor::Cli) {
                Ok(a) => a,
                Err(e @ StoreError::ChangedSinceShown { .. }) => {
                    if let StoreError::ChangedSinceShown { changed, .. } = &e {
                        let names: Vec<String> = changed.iter().map(|c| c.name.clone()).collect();
                        if let Ok(now) =
                            Box::pin(review(target, paths, server, &names, false)).await
                        {
                            print_definitions("what the server lists now:", &now);
                        }
                    }
                    return Err(e.into());
                }
                Err(e) => return Err(e.into()),
            };
            Ok(
                json!({ "server": server, "server_state": approval.server_state, "tools": approval.tools.into_iter().map(|s| (s.name, s.state)).collect::<Vec<_>>() }),
            )
        }
    }
}

/// Prints each definition: name and signature, state, hash, description,
/// findings.
fn print_definitions(title: &str, tools: &[Value]) {
    println!("{title}");
    for t in tools {
        let hash = text(t, "hash");
        println!(
            "  {}{}  [{}]  definition {}",
            text(t, "name"),
            text(t, "signature"),
            text(t, "state"),
            hash.get(..12).unwrap_or(&hash)
        );
        let description = t
            .pointer("/definition/description")
            .and_then(Value::as_str)
            .unwrap_or("");
        for line in description.lines() {
            println!("      {line}");
        }
        for f in t
            .get("findings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            println!("    {}", finding_line(f));
        }
    }
}

/// Whether the person confirmed approving the definitions among `shown`
/// with high-severity findings: `--yes`, or a `y` typed on a terminal after
/// the question names them. Off a terminal without `--yes` it is not
/// confirmed, and the gateway (or the store) refuses the approval.
fn confirm_high(shown: &[Value], yes: bool) -> anyhow::Result<HighFindings> {
    let high: Vec<String> = shown
        .iter()
        .filter(|t| has_high(t.get("findings")))
        .map(|t| {
            format!(
                "`{}` ({})",
                text(t, "name"),
                high_rules(t.get("findings")).join(", ")
            )
        })
        .collect();
    if high.is_empty() {
        return Ok(HighFindings::Unconfirmed);
    }
    if yes {
        return Ok(HighFindings::Confirmed);
    }
    if !std::io::stdin().is_terminal() {
        return Ok(HighFindings::Unconfirmed);
    }
    let (them, verb) = if high.len() == 1 {
        ("it", "has a high-severity finding")
    } else {
        ("them", "have high-severity findings")
    };
    print!("{} {verb}. Approve {them} anyway? [y/N] ", high.join(", "));
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(HighFindings::from_flag(matches!(
        line.trim(),
        "y" | "Y" | "yes"
    )))
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 tool".to_owned()
    } else {
        format!("{n} tools")
    }
}

fn text(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_owned()
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
