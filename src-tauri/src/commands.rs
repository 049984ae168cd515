//! The desktop commands pages can invoke. Each is a thin adapter over an
//! action or a status snapshot, and fails with a [`CommandError`]
//! (`{kind, message, hint}`), never a bare string. Servers, tools and
//! decisions are not here: the pages use the admin API for those, the same
//! in the window as in a browser. A new command goes into build.rs's
//! `COMMANDS`, [`PERMISSIONS`], capabilities/default.json and `run()`'s handler.

use tauri::{AppHandle, Manager};

use crate::error::CommandError;
use crate::state::{Desktop, DesktopStatus};
use crate::tray::TrayModel;
use crate::{actions, tray};

/// The permissions that allow every command to a page (build.rs generates them).
pub const PERMISSIONS: &[&str] = &[
    "allow-desktop-status",
    "allow-tray-state",
    "allow-set-paused",
    "allow-open-popup",
    "allow-close-window",
    "allow-open-window",
    "allow-windows",
    "allow-quit",
    "allow-autostart",
    "allow-set-autostart",
    "allow-staged-import",
    "allow-import-staged",
];

/// Whether the gateway serves, where, what waits, and whether notifications work.
#[tauri::command]
pub fn desktop_status(app: AppHandle) -> DesktopStatus {
    app.state::<Desktop>().status(&app)
}

/// What the tray menu shows now (it is redrawn first).
#[tauri::command]
pub fn tray_state(app: AppHandle) -> TrayModel {
    tray::refresh(&app)
}

/// Pauses or resumes the gateway, as the tray's Pause/Resume does.
#[tauri::command]
pub fn set_paused(app: AppHandle, paused: bool) -> Result<DesktopStatus, CommandError> {
    actions::set_paused(&app, paused)?;
    Ok(app.state::<Desktop>().status(&app))
}

/// Opens the approval popup, as the tray's "N tools awaiting approval" and a notification's Review do.
#[tauri::command]
pub fn open_popup(app: AppHandle) -> Result<(), CommandError> {
    actions::review(&app, None)
}

/// Closes the window of the page that asks, as its close button does: the
/// popup goes, the main window hides (the app stays in the tray).
#[tauri::command]
pub fn close_window(window: tauri::WebviewWindow) -> Result<(), CommandError> {
    window.close().map_err(|e| CommandError::window(&e))
}

/// Opens the main window, as the tray's "Open Portcullis" does.
#[tauri::command]
pub fn open_window(app: AppHandle) -> Result<(), CommandError> {
    actions::open_window(&app)
}

/// The app's windows: label, whether shown, and the page they show.
#[tauri::command]
pub fn windows(app: AppHandle) -> Vec<crate::window::WindowState> {
    crate::window::states(&app)
}

/// Quits the app, as the tray's Quit does.
#[tauri::command]
pub fn quit(app: AppHandle) {
    actions::quit(&app);
}

/// Whether the app starts at login (the Settings page's toggle shows it).
#[tauri::command]
pub fn autostart(app: AppHandle) -> crate::autostart::Autostart {
    crate::autostart::state(&app)
}

/// Turns starting at login on or off, as the tray's "Start at login" does.
#[tauri::command]
pub fn set_autostart(
    app: AppHandle,
    enabled: bool,
) -> Result<crate::autostart::Autostart, CommandError> {
    actions::set_autostart(&app, enabled)
}

/// The servers of the client config file a launch handed to the app (the import page shows them).
#[tauri::command]
pub fn staged_import(app: AppHandle) -> Result<crate::import::ImportPreview, CommandError> {
    crate::import::preview(&app)
}

/// Imports the servers of that file, when the person clicks Import.
#[tauri::command]
pub async fn import_staged(app: AppHandle) -> Result<portcullis::ServersAdded, CommandError> {
    crate::import::import(&app).await
}
