//! Portcullis in the tray: a thin Tauri shell over core's serving gateway.
//!
//! It runs the same [`portcullis::serve::Server`] as `portcullis serve`, in
//! process, with the same config file and data dir (so the CLI finds it
//! through `gateway.json`), and adds what a desktop person needs: a tray icon
//! and menu ([`tray`]), native notifications when tools wait ([`notify`]), an
//! approval popup and the web UI in a window ([`window`]). Everything about
//! servers, tools and decisions stays in core; the shell only shows it and
//! forwards the person's clicks.
//!
//! Lifecycle: closing a window destroys its webview (WebKit's web process
//! for it exits; see [`window`]) and the app stays in the tray; Quit (tray,
//! command, SIGTERM or Ctrl-C) stops every upstream and removes
//! `gateway.json` before exiting.
//! When the gateway cannot start (a bad config, the port in use), the app
//! still starts and says why in the window and the tray.

pub mod actions;
pub mod autostart;
pub mod commands;
pub mod error;
pub mod import;
pub mod instance;
pub mod links;
pub mod notify;
pub mod state;
pub mod tray;
pub mod window;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use portcullis::config::Overrides;
use portcullis::serve::{load_settings, Server};
use tauri::{Manager, RunEvent, WindowEvent};

use crate::error::CommandError;
use crate::state::Desktop;

/// `portcullis-desktop`: the Portcullis gateway with a tray icon, notifications and a window.
#[derive(Debug, Parser)]
#[command(name = "portcullis-desktop", version)]
struct Args {
    /// Config file (default: $PORTCULLIS_HOME/config.toml, else the standard place, as `portcullis serve`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address for the MCP endpoint and admin API, e.g. 127.0.0.1:0 (overrides the config).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Start in the tray only, without opening the window (e.g. at login).
    #[arg(long)]
    hidden: bool,
    /// `portcullis://` links to open (portcullis://settings, portcullis://approve?server=NAME, …)
    /// or a client's MCP config file to import. When the app already runs, they go to it instead.
    #[arg(value_name = "LINK|FILE")]
    links: Vec<String>,
}

/// Runs the app; returns only when it could not start at all.
pub fn run() -> ExitCode {
    let mut args = Args::parse();
    portcullis::telemetry::init_logging("portcullis=info,portcullis_desktop=info");
    // A running app has its own working folder: relative files go absolute.
    let cwd = std::env::current_dir().unwrap_or_default();
    args.links = args
        .links
        .iter()
        .map(|a| links::absolute(a, &cwd))
        .collect();
    // One app per data dir: a second launch shows the first one's window.
    let first = match claim_instance(args.config.as_deref(), &args.links) {
        Ok(first) => first,
        Err(code) => return code,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("portcullis")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // One runtime for the gateway and for Tauri's async commands; entered on
    // the main thread too, where the setup hook starts the shell's tasks.
    tauri::async_runtime::set(rt.handle().clone());
    let _entered = rt.enter();
    let overrides = Overrides {
        listen: args.listen.clone(),
    };
    let server = rt
        .block_on(start(args.config.as_deref(), overrides))
        .map(std::sync::Arc::new);
    match &server {
        Ok(s) => tracing::info!(
            "Portcullis listening on {} (config {})",
            s.mcp_url(),
            s.paths().config.display()
        ),
        Err(e) => tracing::error!(
            "the gateway did not start: {}{}",
            e.message,
            e.hint
                .as_ref()
                .map(|h| format!("\nhint: {h}"))
                .unwrap_or_default()
        ),
    }
    let start_hidden = (args.hidden || !args.links.is_empty()) && server.is_ok();
    let links = args.links.clone();
    let started = server.as_ref().ok().cloned();
    let mut builder = tauri::Builder::default();
    if let Some(plugin) = autostart::plugin() {
        builder = builder.plugin(plugin);
    }
    let app = builder
        .manage(Desktop::new(rt.handle().clone(), server))
        .manage(import::Staged::default())
        .invoke_handler(tauri::generate_handler![
            commands::desktop_status,
            commands::tray_state,
            commands::set_paused,
            commands::open_popup,
            commands::close_window,
            commands::open_window,
            commands::windows,
            commands::quit,
            commands::autostart,
            commands::set_autostart,
            commands::staged_import,
            commands::import_staged,
        ])
        // A closed window is destroyed (webview and WebKit web process with
        // it) and built again on the next open; the app lives on in the tray.
        .on_window_event(|window, event| {
            if let WindowEvent::Destroyed = event {
                tracing::debug!("the {} window is closed", window.label());
            }
        })
        .setup(move |app| {
            let handle = app.handle();
            allow_gateway_pages(handle);
            if let Err(e) = tray::create(handle) {
                tracing::warn!("no tray icon: {e}");
            }
            tray::follow(handle);
            notify::follow(handle);
            quit_on_signal(handle);
            if let Some(first) = first {
                let desktop = handle.state::<Desktop>();
                let (tasks, cancel) = desktop.shell_tasks();
                first.serve(handle, tasks, cancel);
            }
            if !links.is_empty() {
                actions::open_links(handle, &links);
            } else if !start_hidden {
                if let Err(e) = window::open_main(handle) {
                    tracing::error!("{}", e.message);
                }
            }
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: cannot start the desktop app: {e}\nhint: it needs a graphical session (DISPLAY or WAYLAND_DISPLAY); on a machine without one, run `portcullis serve` and open its /ui in a browser");
            if let Some(server) = started {
                rt.block_on(server.shutdown(portcullis::serve::SHUTDOWN_DEADLINE));
            }
            return ExitCode::FAILURE;
        }
    };
    app.run(|app, event| {
        if let RunEvent::ExitRequested {
            code: None, api, ..
        } = event
        {
            // The last window closed (the popup, when the main one was never
            // opened): a tray app stays until Quit.
            if !app.state::<Desktop>().is_quitting() {
                api.prevent_exit();
            }
        }
    });
    ExitCode::SUCCESS
}

/// Takes the data dir for this app, or hands `links` to the app that runs
/// there and says so (then `Err` with the code to exit with: this launch is
/// done). `Ok(None)` when there is no data dir to claim: the gateway's start
/// reports why, in the window.
fn claim_instance(
    config: Option<&std::path::Path>,
    links: &[String],
) -> Result<Option<instance::First>, ExitCode> {
    let Ok(paths) = portcullis::config::Paths::resolve(config) else {
        return Ok(None);
    };
    let launch = instance::Launch {
        args: links.to_vec(),
    };
    match instance::claim(&paths.data, &launch) {
        Ok(instance::Claim::First(first)) => Ok(Some(first)),
        Ok(instance::Claim::Forwarded(reply)) => {
            match &reply.mcp_url {
                Some(url) => println!("Portcullis is already running, serving on {url}: its window is shown."),
                None => println!("Portcullis is already running (its gateway did not start): its window is shown."),
            }
            for arg in &reply.ignored {
                eprintln!("warning: ignored {arg:?}: not a portcullis:// link or a file to import\nhint: try portcullis://settings, portcullis://approve?server=NAME or the path of a client's MCP config (README: Links)");
            }
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}\nhint: {}", e.hint());
            Err(ExitCode::FAILURE)
        }
    }
}

async fn start(
    config: Option<&std::path::Path>,
    overrides: Overrides,
) -> Result<Server, CommandError> {
    let (paths, settings) = load_settings(config, &overrides)?;
    Ok(Server::start_as(
        paths,
        settings,
        overrides,
        portcullis::api::ServedBy::Desktop,
    )
    .await?)
}

/// Lets the gateway's own pages (and only they: this exact origin) call the desktop commands.
fn allow_gateway_pages(app: &tauri::AppHandle) {
    let Ok(server) = app.state::<Desktop>().server().cloned() else {
        return;
    };
    let mut capability = tauri::ipc::CapabilityBuilder::new("gateway-pages")
        .remote(format!("http://{}/*", server.addr()))
        .windows([window::MAIN, window::POPUP])
        .local(false);
    for p in commands::PERMISSIONS {
        capability = capability.permission(*p);
    }
    if let Err(e) = app.add_capability(capability) {
        tracing::warn!("the web UI cannot use the desktop commands: {e}");
    }
}

/// SIGTERM and Ctrl-C quit the way the tray's Quit does.
fn quit_on_signal(app: &tauri::AppHandle) {
    let handle = app.clone();
    app.state::<Desktop>().rt.spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        actions::quit(&handle);
    });
}
