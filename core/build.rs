//! Embeds the web UI (`../ui`, plain files with no build step of their own)
//! into the binary: writes `$OUT_DIR/ui_assets.rs`, a sorted table of
//! `(path, bytes)` that `api::ui` serves at `/ui/`. Building needs cargo only.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let ui = manifest.join("..").join("ui");
    // A directory here is scanned as a whole: any file added, changed or removed reruns this.
    println!("cargo:rerun-if-changed={}", ui.display());
    let mut files = Vec::new();
    if ui.is_dir() {
        collect(&ui, &ui, &mut files);
    }
    files.sort();
    let mut out = String::from("/// The web UI's files: path under `ui/` (with `/`), contents.\npub(super) static UI_ASSETS: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        writeln!(out, "    ({rel:?}, include_bytes!({abs:?})),").expect("writing to a String");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("ui_assets.rs");
    std::fs::write(dest, out).expect("writing ui_assets.rs");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let abs = path
                .canonicalize()
                .unwrap_or(path.clone())
                .display()
                .to_string();
            files.push((rel, abs));
        }
    }
}
