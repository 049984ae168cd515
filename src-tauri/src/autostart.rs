//! Start at login. On Linux (and the BSDs) this is an XDG autostart entry,
//! `$XDG_CONFIG_HOME/autostart/portcullis.desktop`, which every desktop that
//! follows the freedesktop spec runs at login: it starts this very binary in
//! the tray (`--hidden`), with the same `PORTCULLIS_HOME` when one is set.
//! The entry's presence is the setting: there is no second copy to drift.
//!
//! macOS (a launch agent in `~/Library/LaunchAgents`) and Windows (the
//! `HKCU\...\Run` key) go through the maintained `tauri-plugin-autostart`,
//! which starts the app with `--hidden` and the default `PORTCULLIS_HOME`.
//! That path is compiled on every system (so a build here checks it) but
//! only taken there; Linux keeps its own entry, which also carries
//! `PORTCULLIS_HOME` (the plugin's Linux entry cannot).

use std::path::{Path, PathBuf};

use serde::Serialize;
use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::AutoLaunchManager;

use crate::error::{CommandError, ErrorKind};

/// The entry's file name.
pub const ENTRY: &str = "portcullis.desktop";

/// Whether the app starts at login, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Autostart {
    /// Whether this system can start the app at login.
    pub supported: bool,
    /// Whether it will.
    pub enabled: bool,
    /// The entry that makes it so (`$XDG_CONFIG_HOME/autostart/portcullis.desktop`).
    pub entry: Option<String>,
}

/// Whether this system starts the app at login through the plugin.
const THROUGH_PLUGIN: bool = cfg!(any(target_os = "macos", windows));

/// The plugin that makes a login item on macOS and Windows; `None` elsewhere.
pub fn plugin() -> Option<tauri::plugin::TauriPlugin<tauri::Wry>> {
    THROUGH_PLUGIN.then(|| {
        tauri_plugin_autostart::Builder::new()
            .app_name("Portcullis")
            .arg("--hidden")
            .build()
    })
}

/// Where the entry is, on a system with XDG autostart.
fn entry_path() -> Option<PathBuf> {
    if !cfg!(all(unix, not(target_os = "macos"))) {
        return None;
    }
    dirs::config_dir().map(|d| d.join("autostart").join(ENTRY))
}

/// The current state.
pub fn state(app: &AppHandle) -> Autostart {
    if THROUGH_PLUGIN {
        return plugin_state(app);
    }
    let entry = entry_path();
    Autostart {
        supported: entry.is_some(),
        enabled: entry.as_deref().is_some_and(Path::is_file),
        entry: entry.map(|p| p.display().to_string()),
    }
}

/// The state as the plugin sees it (macOS, Windows).
fn plugin_state(app: &AppHandle) -> Autostart {
    let Some(manager) = app.try_state::<AutoLaunchManager>() else {
        return Autostart {
            supported: false,
            enabled: false,
            entry: None,
        };
    };
    Autostart {
        supported: true,
        enabled: manager.is_enabled().unwrap_or(false),
        entry: Some(if cfg!(windows) {
            r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run\Portcullis".into()
        } else {
            "~/Library/LaunchAgents/Portcullis.plist".into()
        }),
    }
}

/// Turns starting at login on (writes the entry for this binary) or off
/// (removes it); returns the new state.
pub fn set(app: &AppHandle, enabled: bool) -> Result<Autostart, CommandError> {
    if THROUGH_PLUGIN {
        return set_through_plugin(app, enabled);
    }
    let Some(path) = entry_path() else {
        return Err(CommandError {
            kind: ErrorKind::Unsupported,
            message: "starting Portcullis at login is not supported on this system yet".into(),
            hint: Some("add the app to your login items by hand".into()),
        });
    };
    let failed = |action: &str, e: &dyn std::fmt::Display| CommandError {
        kind: ErrorKind::Gateway,
        message: format!("cannot {action} {}: {e}", path.display()),
        hint: Some("check that the folder is yours and writable".into()),
    };
    if enabled {
        let exe = std::env::current_exe().map_err(|e| failed("find this app for", &e))?;
        let home = std::env::var_os(portcullis::config::EnvVars::PORTCULLIS_HOME)
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| failed("create the folder of", &e))?;
        }
        let tmp = path.with_extension("desktop.tmp");
        std::fs::write(&tmp, entry(&exe, home.as_deref()))
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| failed("write", &e))?;
    } else {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(failed("remove", &e)),
        }
    }
    Ok(state(app))
}

fn set_through_plugin(app: &AppHandle, enabled: bool) -> Result<Autostart, CommandError> {
    let Some(manager) = app.try_state::<AutoLaunchManager>() else {
        return Err(CommandError {
            kind: ErrorKind::Unsupported,
            message:
                "starting Portcullis at login is not available: the autostart plugin did not load"
                    .into(),
            hint: Some(
                "add the app to your login items by hand; the app's log says why the plugin failed"
                    .into(),
            ),
        });
    };
    let done = if enabled {
        manager.enable()
    } else {
        manager.disable()
    };
    done.map_err(|e| CommandError {
        kind: ErrorKind::Gateway,
        message: format!(
            "cannot turn starting at login {}: {e}",
            if enabled { "on" } else { "off" }
        ),
        hint: Some("check your login items in the system settings".into()),
    })?;
    Ok(plugin_state(app))
}

/// The entry's text: starts `exe` in the tray.
pub fn entry(exe: &Path, home: Option<&Path>) -> String {
    let mut exec = Vec::new();
    if let Some(home) = home {
        exec.push("env".to_owned());
        exec.push(quote(&format!("PORTCULLIS_HOME={}", home.display())));
    }
    exec.push(quote(&exe.display().to_string()));
    exec.push("--hidden".to_owned());
    format!(
        "[Desktop Entry]\nType=Application\nName=Portcullis\nComment=The MCP gateway, in the tray\nExec={}\nIcon=portcullis\nTerminal=false\nX-GNOME-Autostart-enabled=true\n",
        exec.join(" ")
    )
}

/// An argument as the desktop entry spec wants it: quoted when it holds
/// anything but plain characters, with `"`, `` ` ``, `$` and `\` escaped, and
/// `%` doubled (field codes).
fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:+,@".contains(c));
    let arg = arg.replace('%', "%%");
    if plain {
        return arg;
    }
    let mut out = String::from("\"");
    for c in arg.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_starts_this_binary_in_the_tray() {
        let text = entry(Path::new("/usr/bin/portcullis-desktop"), None);
        assert!(
            text.contains("\nExec=/usr/bin/portcullis-desktop --hidden\n"),
            "{text}"
        );
        assert!(text.starts_with("[Desktop Entry]\nType=Application\n"));
    }

    #[test]
    fn odd_paths_are_quoted_and_the_home_kept() {
        let text = entry(
            Path::new("/opt/my apps/portcullis-desktop"),
            Some(Path::new("/home/me/100% \"data\"")),
        );
        assert!(
            text.contains(r#"Exec=env "PORTCULLIS_HOME=/home/me/100%% \"data\"" "/opt/my apps/portcullis-desktop" --hidden"#),
            "{text}"
        );
    }
}
