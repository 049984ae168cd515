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

/// Opens the approval popup.
pub fn review(app: &AppHandle) -> Result<(), CommandError> {
    window::open_popup(app)
}

/// Opens (or brings forward) the main window.
pub fn open_window(app: &AppHandle) -> Result<(), CommandError> {
    window::open_main(app)
}

/// Pauses or resumes the gateway; returns whether it is paused now.
pub fn set_paused(app: &AppHandle, paused: bool) -> Result<bool, CommandError> {
    let desktop = app.state::<Desktop>();
    let gw = desktop.server()?.gateway();
    gw.set_paused(paused);
    tray::refresh(app);
    Ok(gw.is_paused())
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
