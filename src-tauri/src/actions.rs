//! What a person can do from the tray, a notification or a page. The tray
//! menu, the notification's action and the desktop commands all call these,
//! so each action exists once.

use std::time::Duration;

use tauri::{AppHandle, Manager};

use crate::error::CommandError;
use crate::state::Desktop;
use crate::{tray, window};

/// How long quitting waits for upstreams to stop before it leaves anyway.
const QUIT_DEADLINE: Duration = Duration::from_secs(10);

/// Opens the approval popup, on one server's waiting items when `server` names one.
pub fn review(app: &AppHandle, server: Option<&str>) -> Result<(), CommandError> {
    window::open_popup(app, server)
}

/// Blocks exactly these tools of `server` (a notification's Block), as the
/// window's Block does: through the gateway, recorded in the activity log.
pub fn block_named(app: &AppHandle, server: &str, tools: Vec<String>) -> Result<(), CommandError> {
    if tools.is_empty() {
        return Ok(());
    }
    let desktop = app.state::<Desktop>();
    let gw = desktop.server()?.gateway().clone();
    let selection = portcullis::trust::ToolSelection::Names(tools.clone());
    // Called from a blocking thread (the notification's waiter), never from the runtime.
    desktop
        .rt
        .block_on(gw.block_tools(server, &selection, portcullis::trust::Actor::Tray))?;
    tracing::info!(
        "blocked from a notification: {server}: {}",
        tools.join(", ")
    );
    tray::refresh(app);
    Ok(())
}

/// Approves exactly these definitions of `server` (a notification's
/// Approve), recorded as the tray's decision. When the server lists
/// something else by now, nothing is approved and the popup opens on what
/// changed.
pub fn approve_reviewed(
    app: &AppHandle,
    server: &str,
    reviewed: Vec<portcullis::trust::Reviewed>,
) -> Result<(), CommandError> {
    let desktop = app.state::<Desktop>();
    let gw = desktop.server()?.gateway().clone();
    // Called from a blocking thread (the notification's waiter), never from the runtime.
    let decided = desktop.rt.block_on(gw.approve_tools(
        server,
        &reviewed,
        portcullis::trust::HighFindings::Unconfirmed,
        portcullis::trust::Actor::Tray,
    ));
    if let Err(e) = decided {
        tracing::warn!("approving from a notification: {e}");
        review(app, Some(server))?;
        return Err(e.into());
    }
    let names: Vec<&str> = reviewed.iter().map(|r| r.name.as_str()).collect();
    tracing::info!(
        "approved from a notification: {server}: {}",
        names.join(", ")
    );
    tray::refresh(app);
    Ok(())
}

/// Opens (or brings forward) the main window.
pub fn open_window(app: &AppHandle) -> Result<(), CommandError> {
    window::open_main(app)
}

/// Opens what a launch asks for (`portcullis://` links and files to import,
/// see [`crate::links`]), or the main window when it asks for nothing;
/// returns the arguments that are neither (they are ignored, and logged).
pub fn open_links(app: &AppHandle, args: &[String]) -> Vec<String> {
    let mut ignored = Vec::new();
    let mut opened = false;
    for arg in args {
        let result = match crate::links::parse(arg) {
            Some(crate::links::Link::Review { server }) => review(app, server.as_deref()),
            Some(crate::links::Link::Page(route)) => window::open_main_at(app, &route),
            Some(crate::links::Link::Import(path)) => {
                window::open_main_at(app, &crate::import::stage(app, &path))
            }
            None => {
                tracing::warn!("ignoring {arg:?}: not a portcullis:// link this app knows");
                ignored.push(arg.clone());
                continue;
            }
        };
        match result {
            Ok(()) => opened = true,
            Err(e) => tracing::error!("cannot open {arg}: {}", e.message),
        }
    }
    if !opened {
        if let Err(e) = open_window(app) {
            tracing::error!("{}", e.message);
        }
    }
    ignored
}

/// Pauses or resumes the gateway; returns whether it is paused now.
pub fn set_paused(app: &AppHandle, paused: bool) -> Result<bool, CommandError> {
    let desktop = app.state::<Desktop>();
    let gw = desktop.server()?.gateway();
    gw.set_paused(paused);
    tray::refresh(app);
    Ok(gw.is_paused())
}

/// Turns starting at login on or off; the tray's check mark follows.
pub fn set_autostart(
    app: &AppHandle,
    enabled: bool,
) -> Result<crate::autostart::Autostart, CommandError> {
    let state = crate::autostart::set(app, enabled)?;
    tray::refresh(app);
    Ok(state)
}

/// Pauses a running gateway, resumes a paused one; returns whether it is paused now.
pub fn toggle_pause(app: &AppHandle) -> Result<bool, CommandError> {
    let paused = app.state::<Desktop>().server()?.gateway().is_paused();
    set_paused(app, !paused)
}

/// Quits: closes the windows, stops the gateway (each upstream is stopped and
/// its process reaped, within [`QUIT_DEADLINE`]), removes the runtime file,
/// then ends the app. Runs once, however often it is asked.
pub fn quit(app: &AppHandle) {
    let desktop = app.state::<Desktop>();
    if !desktop.begin_quit() {
        return;
    }
    tracing::info!("quitting");
    for (_, w) in app.webview_windows() {
        let _ = w.hide();
    }
    desktop.cancel_shell();
    let server = desktop.server().ok().cloned();
    let app = app.clone();
    // The shutdown runs off the main thread, which stays free to serve the
    // tray and windows (tray updates wait for it) until the app exits.
    desktop.rt.spawn(async move {
        if let Some(server) = server {
            server.shutdown(QUIT_DEADLINE).await;
            tracing::info!("the gateway stopped");
        }
        app.exit(0);
    });
}
