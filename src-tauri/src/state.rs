//! What the shell holds: the serving gateway (or why it did not start), the
//! state of notifications, and a snapshot of both for the tray and the pages.
//! Every decision and every query goes to core's `Gateway`; nothing here
//! keeps its own copy of servers or tools.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use portcullis::serve::Server;
use portcullis::upstream::UpstreamState;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::error::{CommandError, ErrorKind};
use crate::notify::NotificationState;

/// The app's state, managed by Tauri.
pub struct Desktop {
    /// The runtime the gateway runs on (Tauri's async runtime is set to it).
    pub rt: tokio::runtime::Handle,
    server: Result<Arc<Server>, CommandError>,
    notifications: Mutex<NotificationState>,
    quitting: AtomicBool,
    /// The shell's own tasks, which run whether or not the gateway started
    /// (the gateway's run in its own tracker); cancelled by Quit.
    shell_tasks: TaskTracker,
    shell_cancel: CancellationToken,
}

/// A snapshot for the tray menu and the pages.
#[derive(Debug, Clone, Serialize)]
pub struct DesktopStatus {
    /// Whether the gateway serves.
    pub running: bool,
    /// Why it does not, when it does not.
    pub error: Option<CommandError>,
    /// The address it listens on.
    pub listen: Option<String>,
    /// The MCP endpoint agents connect to.
    pub mcp_url: Option<String>,
    /// The web UI the window shows.
    pub ui_url: Option<String>,
    /// Servers that are up (ready).
    pub servers_up: usize,
    /// Configured servers.
    pub servers_total: usize,
    /// Tools (new or changed) that wait for a person.
    pub pending: usize,
    /// Whether the person paused the gateway.
    pub paused: bool,
    /// Whether notifications reach a notification daemon.
    pub notifications: NotificationState,
    /// The config file.
    pub config: Option<String>,
    /// Whether the app starts at login.
    pub autostart: crate::autostart::Autostart,
}

impl Desktop {
    /// The state around a gateway that started, or the reason it did not.
    pub fn new(rt: tokio::runtime::Handle, server: Result<Arc<Server>, CommandError>) -> Self {
        Self {
            rt,
            server,
            notifications: Mutex::new(NotificationState::Unknown),
            quitting: AtomicBool::new(false),
            shell_tasks: TaskTracker::new(),
            shell_cancel: CancellationToken::new(),
        }
    }

    /// The shell's task tracker and the token that ends its tasks.
    pub fn shell_tasks(&self) -> (&TaskTracker, CancellationToken) {
        (&self.shell_tasks, self.shell_cancel.clone())
    }

    /// Ends the shell's own tasks (at Quit).
    pub fn cancel_shell(&self) {
        self.shell_tasks.close();
        self.shell_cancel.cancel();
    }

    /// The serving gateway.
    pub fn server(&self) -> Result<&Arc<Server>, CommandError> {
        self.server.as_ref().map_err(|e| CommandError {
            kind: ErrorKind::NotRunning,
            message: format!("Portcullis is not running: {}", e.message),
            hint: e.hint.clone(),
        })
    }

    /// Records what the last attempt to notify found out.
    pub fn set_notifications(&self, state: NotificationState) {
        *self.notifications.lock() = state;
    }

    /// Whether notifications work, as far as is known.
    pub fn notifications(&self) -> NotificationState {
        self.notifications.lock().clone()
    }

    /// Marks the app as quitting; returns false when it already was.
    pub fn begin_quit(&self) -> bool {
        !self.quitting.swap(true, Ordering::SeqCst)
    }

    /// Whether Quit was asked for.
    pub fn is_quitting(&self) -> bool {
        self.quitting.load(Ordering::SeqCst)
    }

    /// A fresh snapshot: asks the gateway and the store.
    pub fn status(&self, app: &tauri::AppHandle) -> DesktopStatus {
        let autostart = crate::autostart::state(app);
        let notifications = self.notifications();
        match &self.server {
            Ok(server) => {
                let gw = server.gateway();
                let servers = gw.servers();
                let pending = match gw.pending_tools() {
                    Ok(p) => p.len(),
                    Err(e) => {
                        tracing::warn!("cannot count the tools awaiting approval: {e}");
                        0
                    }
                };
                DesktopStatus {
                    running: true,
                    error: None,
                    listen: Some(server.addr().to_string()),
                    mcp_url: Some(server.mcp_url()),
                    ui_url: Some(server.ui_url()),
                    servers_up: servers
                        .iter()
                        // An on-demand server that sleeps is available: the first call starts it.
                        .filter(|s| matches!(s.state, UpstreamState::Ready | UpstreamState::Idle))
                        .count(),
                    servers_total: servers.len(),
                    pending,
                    paused: gw.is_paused(),
                    notifications,
                    config: Some(server.paths().config.display().to_string()),
                    autostart: autostart.clone(),
                }
            }
            Err(e) => DesktopStatus {
                running: false,
                error: Some(e.clone()),
                listen: None,
                mcp_url: None,
                ui_url: None,
                servers_up: 0,
                servers_total: 0,
                pending: 0,
                paused: false,
                notifications,
                config: None,
                autostart,
            },
        }
    }
}
