//! The tray icon and its menu.
//!
//! The menu is a picture of [`TrayModel`], which is computed from the
//! gateway's status alone; the menu's actions are the same functions the
//! desktop commands call ([`crate::actions`]), so what a test drives through
//! a command is what a click in the menu does. The icon changes (an amber
//! badge) while tools await approval.

use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager};

use crate::actions;
use crate::state::{Desktop, DesktopStatus};

const ICON: &[u8] = include_bytes!("../../icons/tray@2x.png");
const ICON_PENDING: &[u8] = include_bytes!("../../icons/tray-pending@2x.png");

/// What the tray shows, derived from a status snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrayModel {
    /// First line: where agents connect, or why nothing listens.
    pub address: String,
    /// How many servers are up.
    pub servers: String,
    /// "N tools awaiting approval" (opens the popup).
    pub pending: String,
    /// Whether the pending line can be clicked.
    pub pending_enabled: bool,
    /// "Pause gateway" or "Resume gateway".
    pub pause: String,
    /// Whether pause/resume can be clicked.
    pub pause_enabled: bool,
    /// Whether "Start at login" is checked.
    pub autostart: bool,
    /// Whether "Start at login" can be clicked (this system supports it).
    pub autostart_enabled: bool,
    /// The icon's tooltip.
    pub tooltip: String,
    /// Whether the icon shows the badge (approvals wait).
    pub attention: bool,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl TrayModel {
    /// The tray for a status.
    pub fn of(s: &DesktopStatus) -> Self {
        let address = match (&s.listen, &s.error) {
            (Some(addr), _) if s.paused => format!("Paused: listening on {addr}"),
            (Some(addr), _) => format!("Listening on {addr}"),
            (None, Some(e)) => format!("Not running: {}", e.message),
            (None, None) => "Not running".to_owned(),
        };
        let servers = if s.running {
            format!(
                "{} of {} up",
                s.servers_up,
                plural(s.servers_total, "server", "servers")
            )
        } else {
            "No servers".to_owned()
        };
        let pending = match s.pending {
            0 => "No tools awaiting approval".to_owned(),
            n => format!("{} awaiting approval", plural(n, "tool", "tools")),
        };
        let tooltip = match (s.running, s.pending, s.paused) {
            (false, _, _) => "Portcullis: not running".to_owned(),
            (true, 0, false) => "Portcullis".to_owned(),
            (true, 0, true) => "Portcullis (paused)".to_owned(),
            (true, n, paused) => format!(
                "Portcullis{}: {} awaiting approval",
                if paused { " (paused)" } else { "" },
                plural(n, "tool", "tools")
            ),
        };
        Self {
            address,
            servers,
            pending,
            pending_enabled: s.pending > 0,
            pause: if s.paused {
                "Resume gateway"
            } else {
                "Pause gateway"
            }
            .to_owned(),
            pause_enabled: s.running,
            autostart: s.autostart.enabled,
            autostart_enabled: s.autostart.supported,
            tooltip,
            attention: s.pending > 0,
        }
    }
}

/// The tray's parts that change.
pub struct Tray {
    icon: TrayIcon,
    address: MenuItem<tauri::Wry>,
    servers: MenuItem<tauri::Wry>,
    pending: MenuItem<tauri::Wry>,
    pause: MenuItem<tauri::Wry>,
    autostart: CheckMenuItem<tauri::Wry>,
    shown: Mutex<Option<TrayModel>>,
}

/// Builds the tray from the current status. Without a StatusNotifier host
/// (no panel, as under Xvfb) this still succeeds; nothing shows.
pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let model = TrayModel::of(&app.state::<Desktop>().status(app));
    let address = MenuItem::with_id(app, "address", &model.address, false, None::<&str>)?;
    let servers = MenuItem::with_id(app, "servers", &model.servers, false, None::<&str>)?;
    let pending = MenuItem::with_id(
        app,
        "pending",
        &model.pending,
        model.pending_enabled,
        None::<&str>,
    )?;
    let open = MenuItem::with_id(app, "open", "Open Portcullis", true, None::<&str>)?;
    let pause = MenuItem::with_id(
        app,
        "pause",
        &model.pause,
        model.pause_enabled,
        None::<&str>,
    )?;
    let autostart = CheckMenuItem::with_id(
        app,
        "autostart",
        "Start at login",
        model.autostart_enabled,
        model.autostart,
        None::<&str>,
    )?;
    let quit = MenuItem::with_id(app, "quit", "Quit Portcullis", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &address,
            &servers,
            &PredefinedMenuItem::separator(app)?,
            &pending,
            &open,
            &PredefinedMenuItem::separator(app)?,
            &pause,
            &autostart,
            &quit,
        ],
    )?;
    let icon = TrayIconBuilder::with_id("portcullis")
        .icon(Image::from_bytes(if model.attention {
            ICON_PENDING
        } else {
            ICON
        })?)
        .tooltip(&model.tooltip)
        .title("Portcullis")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(on_menu)
        .build(app)?;
    app.manage(Tray {
        icon,
        address,
        servers,
        pending,
        pause,
        autostart,
        shown: Mutex::new(Some(model)),
    });
    Ok(())
}

fn on_menu(app: &AppHandle, event: MenuEvent) {
    let result = match event.id().as_ref() {
        "pending" => actions::review(app, None),
        "open" => actions::open_window(app),
        "pause" => actions::toggle_pause(app).map(|_| ()),
        // The menu has checked the item already; the file decides.
        "autostart" => {
            actions::set_autostart(app, !crate::autostart::state(app).enabled).map(|_| ())
        }
        "quit" => {
            actions::quit(app);
            Ok(())
        }
        _ => Ok(()),
    };
    if let Err(e) = result {
        tracing::error!(
            "{}{}",
            e.message,
            e.hint.map(|h| format!(" (hint: {h})")).unwrap_or_default()
        );
    }
}

/// Redraws the tray from a fresh status, when anything changed; returns what it shows.
pub fn refresh(app: &AppHandle) -> TrayModel {
    let model = TrayModel::of(&app.state::<Desktop>().status(app));
    let Some(tray) = app.try_state::<Tray>() else {
        return model;
    };
    // Not held while drawing: from another thread each change waits for the
    // main thread, which may itself be waiting here.
    let before = tray.shown.lock().clone();
    if before.as_ref() == Some(&model) {
        return model;
    }
    let applied = (|| -> tauri::Result<()> {
        tray.address.set_text(&model.address)?;
        tray.servers.set_text(&model.servers)?;
        tray.pending.set_text(&model.pending)?;
        tray.pending.set_enabled(model.pending_enabled)?;
        tray.pause.set_text(&model.pause)?;
        tray.pause.set_enabled(model.pause_enabled)?;
        tray.autostart.set_checked(model.autostart)?;
        tray.autostart.set_enabled(model.autostart_enabled)?;
        tray.icon.set_tooltip(Some(&model.tooltip))?;
        if before
            .as_ref()
            .is_none_or(|s| s.attention != model.attention)
        {
            tray.icon
                .set_icon(Some(Image::from_bytes(if model.attention {
                    ICON_PENDING
                } else {
                    ICON
                })?))?;
        }
        Ok(())
    })();
    match applied {
        Ok(()) => {
            *tray.shown.lock() = Some(model.clone());
        }
        Err(e) => tracing::warn!("cannot update the tray: {e}"),
    }
    model
}

/// Keeps the tray current: on every gateway event (a little later, to take
/// a burst at once) and every two seconds, which also catches decisions
/// other processes write to the store. Ends with the gateway.
pub fn follow(app: &AppHandle) {
    let desktop = app.state::<Desktop>();
    let Ok(server) = desktop.server() else { return };
    let gw = server.gateway().clone();
    let (app, cancel, mut events) = (app.clone(), gw.cancellation(), gw.subscribe());
    gw.tasks().spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = tick.tick() => {}
                e = events.recv() => {
                    if matches!(e, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    while events.try_recv().is_ok() {}
                }
            }
            refresh(&app);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::NotificationState;

    fn status() -> DesktopStatus {
        DesktopStatus {
            running: true,
            error: None,
            listen: Some("127.0.0.1:7331".into()),
            mcp_url: None,
            ui_url: None,
            servers_up: 2,
            servers_total: 3,
            pending: 0,
            paused: false,
            notifications: NotificationState::Unknown,
            config: None,
            autostart: crate::autostart::Autostart {
                supported: true,
                enabled: false,
                entry: None,
            },
        }
    }

    #[test]
    fn quiet_tray() {
        let m = TrayModel::of(&status());
        assert_eq!(m.address, "Listening on 127.0.0.1:7331");
        assert_eq!(m.servers, "2 of 3 servers up");
        assert_eq!(m.pending, "No tools awaiting approval");
        assert!(!m.pending_enabled && !m.attention);
        assert_eq!(m.pause, "Pause gateway");
    }

    #[test]
    fn waiting_tools_badge_the_icon() {
        let m = TrayModel::of(&DesktopStatus {
            pending: 1,
            paused: true,
            ..status()
        });
        assert_eq!(m.pending, "1 tool awaiting approval");
        assert!(m.pending_enabled && m.attention);
        assert_eq!(m.pause, "Resume gateway");
        assert_eq!(m.address, "Paused: listening on 127.0.0.1:7331");
        assert_eq!(m.tooltip, "Portcullis (paused): 1 tool awaiting approval");
    }

    #[test]
    fn a_gateway_that_did_not_start_says_why() {
        let e = crate::error::CommandError {
            kind: crate::error::ErrorKind::PortInUse,
            message: "cannot listen on 127.0.0.1:7331: the address is in use".into(),
            hint: None,
        };
        let m = TrayModel::of(&DesktopStatus {
            running: false,
            listen: None,
            error: Some(e),
            servers_total: 0,
            servers_up: 0,
            ..status()
        });
        assert_eq!(
            m.address,
            "Not running: cannot listen on 127.0.0.1:7331: the address is in use"
        );
        assert!(!m.pause_enabled);
    }
}
