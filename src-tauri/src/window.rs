//! The two windows: the main window (the web UI, `/ui/`) and the approval
//! popup (`/ui/popup.html`). Both load the pages the gateway serves, the same
//! ones a browser gets from `portcullis serve`, with the admin API's address
//! and token injected as `window.__PORTCULLIS__` so no token prompt shows.
//! When the gateway did not start they show the app's own page, which
//! explains why.
//!
//! Closing a window destroys it, webview and all: WebKit's web process for it
//! exits and the app in the tray is back to its hidden-start footprint (see
//! BENCHMARKS.md). The next open (tray, notification, second launch) builds
//! it again on a fresh page.

use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindow, WebviewWindowBuilder};

use crate::error::CommandError;
use crate::state::Desktop;

/// The main window's label.
pub const MAIN: &str = "main";
/// The approval popup's label.
pub const POPUP: &str = "popup";

/// Shows the main window, creating it on first use.
pub fn open_main(app: &AppHandle) -> Result<(), CommandError> {
    let window = match app.get_webview_window(MAIN) {
        Some(w) => w,
        None => build(app, MAIN, "", "Portcullis", (1100.0, 760.0), (720.0, 480.0))?,
    };
    reveal(&window)
}

/// Shows the main window on a page: `route` is a hash route of the web UI
/// such as `#/settings` (see [`crate::links`], which checks it).
pub fn open_main_at(app: &AppHandle, route: &str) -> Result<(), CommandError> {
    let window = match app.get_webview_window(MAIN) {
        Some(w) => {
            // The page routes on its hash: no reload, the page state stays.
            let script = format!(
                "location.hash = {};",
                serde_json::Value::String(route.to_owned())
            );
            w.eval(&script).map_err(|e| CommandError::window(&e))?;
            w
        }
        None => build(
            app,
            MAIN,
            route,
            "Portcullis",
            (1100.0, 760.0),
            (720.0, 480.0),
        )?,
    };
    reveal(&window)
}

/// Shows the approval popup, creating it on first use; on one server's
/// waiting items when `server` names one (`popup.html?server=NAME`), else on
/// everything that waits.
pub fn open_popup(app: &AppHandle, server: Option<&str>) -> Result<(), CommandError> {
    // Server names are `[A-Za-z0-9_-]` (crate::links checks them): no escaping needed.
    let page = match server {
        Some(name) => format!("popup.html?server={name}"),
        None => "popup.html".to_owned(),
    };
    let window = match app.get_webview_window(POPUP) {
        Some(w) => {
            let shown = w.url().map(|u| u.to_string()).unwrap_or_default();
            if !shown.ends_with(&page) {
                let desktop = app.state::<Desktop>();
                let ui = desktop.server()?.ui_url();
                let url = format!("{ui}{page}").parse().map_err(|e| {
                    CommandError::plain(
                        crate::error::ErrorKind::Window,
                        format_args!("bad UI address {ui}{page}: {e}"),
                    )
                })?;
                w.navigate(url).map_err(|e| CommandError::window(&e))?;
            }
            w
        }
        None => {
            let w = build(
                app,
                POPUP,
                &page,
                "Portcullis: review tools",
                (560.0, 680.0),
                (380.0, 360.0),
            )?;
            let _ = w.set_always_on_top(true);
            w
        }
    };
    reveal(&window)
}

/// A window as the pages (and tests) see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WindowState {
    /// `main` or `popup`.
    pub label: String,
    /// Whether it is shown (a closed window is gone, not hidden).
    pub visible: bool,
    /// The page it shows.
    pub url: String,
}

/// Every window of the app, in label order.
pub fn states(app: &AppHandle) -> Vec<WindowState> {
    let mut all: Vec<WindowState> = app
        .webview_windows()
        .into_iter()
        .map(|(label, w)| WindowState {
            label,
            visible: w.is_visible().unwrap_or(false),
            url: w.url().map(|u| u.to_string()).unwrap_or_default(),
        })
        .collect();
    all.sort_by(|a, b| a.label.cmp(&b.label));
    all
}

fn reveal(window: &WebviewWindow) -> Result<(), CommandError> {
    window.show().map_err(|e| CommandError::window(&e))?;
    let _ = window.unminimize();
    let _ = window.set_focus();
    Ok(())
}

fn build(
    app: &AppHandle,
    label: &str,
    page: &str,
    title: &str,
    size: (f64, f64),
    min: (f64, f64),
) -> Result<WebviewWindow, CommandError> {
    let desktop = app.state::<Desktop>();
    let (url, script) = match desktop.server() {
        Ok(server) => {
            let ui = server.ui_url();
            let url = format!("{ui}{page}").parse().map_err(|e| {
                CommandError::plain(
                    crate::error::ErrorKind::Window,
                    format_args!("bad UI address {ui}{page}: {e}"),
                )
            })?;
            let origin = format!("http://{}", server.addr());
            // Each page gets its own channel's token: the activity log then says
            // whether a person decided in the window or in the popup.
            let actor = if label == POPUP {
                portcullis::trust::Actor::Popup
            } else {
                portcullis::trust::Actor::Window
            };
            let token = server.channel_token(actor).unwrap_or(server.token());
            (
                WebviewUrl::External(url),
                injection(&origin, &server.api_url(), token),
            )
        }
        // The app's own page explains why the gateway is not running.
        Err(_) => (WebviewUrl::App("index.html".into()), String::new()),
    };
    let mut builder = WebviewWindowBuilder::new(app, label, url)
        .title(title)
        .inner_size(size.0, size.1)
        .min_inner_size(min.0, min.1)
        .center();
    if !script.is_empty() {
        builder = builder.initialization_script(&script);
    }
    builder.build().map_err(|e| CommandError::window(&e))
}

/// The script that tells the web UI where the admin API is and its token,
/// on the gateway's own origin only: a page from anywhere else (should the
/// window ever navigate away) does not get the token.
pub fn injection(origin: &str, api_base: &str, token: &str) -> String {
    let config = serde_json::json!({ "apiBase": api_base, "token": token, "desktop": true });
    format!(
        "(function () {{\n  if (window.location.origin !== {origin}) return;\n  Object.defineProperty(window, '__PORTCULLIS__', {{ value: Object.freeze({config}), writable: false, configurable: false }});\n}})();\n",
        origin = serde_json::Value::String(origin.to_owned()),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_token_is_only_given_to_the_gateway_origin() {
        let s = super::injection(
            "http://127.0.0.1:7331",
            "http://127.0.0.1:7331/api/v1",
            "ab\"cd",
        );
        assert!(
            s.contains(r#"if (window.location.origin !== "http://127.0.0.1:7331") return;"#),
            "{s}"
        );
        assert!(s.contains(r#""token":"ab\"cd""#), "{s}");
        assert!(
            s.contains(r#""apiBase":"http://127.0.0.1:7331/api/v1""#),
            "{s}"
        );
    }
}
