//! `portcullis serve` and `portcullis stdio`.

use portcullis::api::RuntimeFile;
use portcullis::clients::{terminal_snippets, Target};
use portcullis::config::{Overrides, Paths, Settings};
use portcullis::serve::{load_settings, watch_config, Server, SHUTDOWN_DEADLINE};
use portcullis::{process_stdio, serve_sign_in_callback, serve_stdio, Door, Gateway, GatewayEvent};

use super::args::{ConfigArgs, ServeArgs, StdioArgs};

fn load(config: &ConfigArgs, overrides: &Overrides) -> anyhow::Result<(Paths, Settings)> {
    Ok(load_settings(config.config.as_deref(), overrides)?)
}

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    portcullis::telemetry::init_logging("portcullis=info");
    let overrides = Overrides {
        listen: args.listen.clone(),
    };
    let (paths, settings) = load(&args.config, &overrides)?;
    refuse_a_second_gateway(&paths)?;
    let server = Server::start(paths, settings, overrides).await?;
    let mcp_url = server.mcp_url();
    println!("Portcullis listening on {mcp_url}");
    println!("config: {}", server.paths().config.display());
    println!(
        "web UI: {} (it asks for the admin token in {})",
        server.ui_url(),
        server.paths().admin_token().display()
    );
    println!("{}", terminal_snippets(&Target::new(mcp_url.clone())));
    use std::io::Write;
    let _ = std::io::stdout().flush();
    announce_approvals(server.gateway());
    wait_for_signal().await;
    tracing::info!("shutting down");
    server.shutdown(SHUTDOWN_DEADLINE).await;
    Ok(())
}

/// One gateway per data dir: a second would fight the first over the port,
/// the store and `gateway.json`. Says who already serves, and where.
fn refuse_a_second_gateway(paths: &Paths) -> anyhow::Result<()> {
    let Some(running) = RuntimeFile::read(&paths.runtime_file()) else {
        return Ok(());
    };
    let quit = match running.served_by {
        portcullis::api::ServedBy::Desktop => " (tray menu: Quit Portcullis)",
        portcullis::api::ServedBy::Serve => "",
    };
    fail!(
        hint = format!("agents can use that address as it is; to serve from this terminal instead, quit it first{quit}"),
        "{} already serves on {} (pid {}), with the data in {}",
        running.served_by,
        running.mcp_url,
        running.pid,
        paths.data.display()
    )
}

pub(crate) async fn stdio(args: StdioArgs) -> anyhow::Result<()> {
    portcullis::telemetry::init_logging("portcullis=warn");
    let overrides = Overrides::default();
    let (paths, settings) = load(&args.config, &overrides)?;
    let door = Door {
        profile: args.profile,
        surface: None,
    };
    let gw = Gateway::start(paths.clone(), settings)?;
    // A mistyped profile is said before anything is served.
    let admission = match gw.admit(None, &door) {
        Ok(a) => a,
        Err(refusal) => {
            gw.shutdown(SHUTDOWN_DEADLINE).await;
            return Err(refusal.into());
        }
    };
    watch_config(&gw, &paths, overrides);
    // An HTTP upstream may ask for an OAuth sign-in: the browser comes back to a loopback port.
    if let Err(e) = serve_sign_in_callback(&gw).await {
        tracing::warn!(
            "no listener for OAuth sign-ins ({e}); sign in with `portcullis serve` running instead"
        );
    }
    let (input, output) = process_stdio();
    tokio::select! {
        () = serve_stdio(&gw, admission, input, output) => {}
        () = wait_for_signal() => {}
    }
    gw.shutdown(SHUTDOWN_DEADLINE).await;
    Ok(())
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
