//! `portcullis-desktop`: Portcullis in the tray.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    portcullis_desktop::run()
}
