//! `portcullis-desktop`: Portcullis in the tray.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    // Sandboxed servers are launched by this program too, before any thread starts.
    if let Some(status) = portcullis::isolation::sandbox_exec_main() {
        return status;
    }
    portcullis_desktop::run()
}
