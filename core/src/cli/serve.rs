//! `portcullis serve` and `portcullis stdio`.

use std::time::Duration;

use anyhow::Context;
use portcullis::api::{self, load_or_create_token, RuntimeFile};
use portcullis::clients::{terminal_snippets, Target};
use portcullis::config::{ConfigFile, ConfigWatcher, Overrides, Paths, Settings};
use portcullis::{serve_http, serve_stdio, Gateway, GatewayEvent};

use super::args::{ConfigArgs, ServeArgs};

const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

fn load(config: &ConfigArgs, overrides: &Overrides) -> anyhow::Result<(Paths, Settings)> {
    let paths = Paths::resolve(config.config.as_deref())?;
    let file = ConfigFile::load(&paths.config)?;
    let settings = Settings::resolve(&file, overrides, &paths.config)?;
    Ok((paths, settings))
}

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    super::init_logging("portcullis=info");
    let overrides = Overrides { listen: args.listen.clone() };
    let (paths, settings) = load(&args.config, &overrides)?;
    if !settings.listen.ip().is_loopback() {
        tracing::warn!("listening on {}, which is not a loopback address; requests must still name localhost in Host", settings.listen);
    }
    let gw = Gateway::start(paths.clone(), settings.clone())?;
    let token = load_or_create_token(&paths.admin_token())?;
    let server = match serve_http(&gw, settings.listen, api::router(gw.clone(), token)).await {
        Ok(s) => s,
        Err(e) => {
            gw.shutdown(SHUTDOWN_DEADLINE).await;
            return Err(e.into());
        }
    };
    let mcp_url = format!("http://{}/mcp", server.addr);
    let runtime = RuntimeFile { pid: std::process::id(), mcp_url: mcp_url.clone(), api_url: format!("http://{}/api/v1", server.addr) };
    runtime.write(&paths.runtime_file()).with_context(|| format!("writing {}", paths.runtime_file().display()))?;
    println!("Portcullis listening on {mcp_url}");
    println!("config: {}", paths.config.display());
    println!("web UI: http://{}/ui/ (it asks for the admin token in {})", server.addr, paths.admin_token().display());
    println!("{}", terminal_snippets(&Target::new(mcp_url.clone())));
    use std::io::Write;
    let _ = std::io::stdout().flush();
    watch_config(&gw, &paths, overrides);
    announce_approvals(&gw);
    wait_for_signal().await;
    tracing::info!("shutting down");
    RuntimeFile::remove(&paths.runtime_file());
    gw.shutdown(SHUTDOWN_DEADLINE).await;
    Ok(())
}

pub(crate) async fn stdio(args: ConfigArgs) -> anyhow::Result<()> {
    super::init_logging("portcullis=warn");
    let overrides = Overrides::default();
    let (paths, settings) = load(&args, &overrides)?;
    let gw = Gateway::start(paths.clone(), settings)?;
    watch_config(&gw, &paths, overrides);
    tokio::select! {
        () = serve_stdio(&gw, tokio::io::stdin(), tokio::io::stdout()) => {}
        () = wait_for_signal() => {}
    }
    gw.shutdown(SHUTDOWN_DEADLINE).await;
    Ok(())
}

/// Applies edits of the config file while serving; a broken edit is reported and ignored.
fn watch_config(gw: &Gateway, paths: &Paths, overrides: Overrides) {
    let mut watcher = ConfigWatcher::new(&paths.config);
    let (g, path, cancel) = (gw.clone(), paths.config.clone(), gw.cancellation());
    gw.tasks().spawn(async move {
        loop {
            let next = tokio::select! {
                () = cancel.cancelled() => return,
                n = watcher.next() => n,
            };
            let settings = next.and_then(|file| Settings::resolve(&file, &overrides, &path));
            match settings {
                Ok(s) => {
                    tracing::info!("{} changed; applying it", path.display());
                    g.apply_settings(s).await;
                }
                Err(e) => {
                    tracing::error!("ignoring the new config: {e}");
                    g.emit_event(GatewayEvent::ConfigRejected { error: e.to_string() });
                }
            }
        }
    });
}

/// Tells the person at the terminal when tools wait for them.
fn announce_approvals(gw: &Gateway) {
    let mut events = gw.subscribe();
    let cancel = gw.cancellation();
    gw.tasks().spawn(async move {
        loop {
            let event = tokio::select! {
                () = cancel.cancelled() => return,
                e = events.recv() => e,
            };
            match event {
                Ok(GatewayEvent::ToolsPending { server, tools }) => {
                    tracing::warn!("{} new tool(s) of `{server}` wait for approval: {}; review with `portcullis tools pending`, approve with `portcullis upstream approve --name {server} --tools {}`", tools.len(), tools.join(", "), tools.join(","));
                }
                Ok(GatewayEvent::ToolsModified { server, tools }) => {
                    tracing::warn!("approved tool(s) of `{server}` changed and are held: {}; see `portcullis tools diff {server}__{}`", tools.join(", "), tools.first().map_or("", String::as_str));
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                _ => {}
            }
        }
    });
}

async fn wait_for_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
