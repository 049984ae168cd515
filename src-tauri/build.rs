//! Compiles the app's context and its permission manifest: one `allow-*`
//! permission per desktop command (see src/commands.rs and capabilities/).

/// The desktop commands (src/commands.rs); pages may call only these.
const COMMANDS: &[&str] = &[
    "desktop_status",
    "tray_state",
    "set_paused",
    "open_popup",
    "close_window",
    "open_window",
    "windows",
    "quit",
    "autostart",
    "set_autostart",
    "staged_import",
    "import_staged",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).expect("tauri-build failed");
}
