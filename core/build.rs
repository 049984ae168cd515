//! Embeds the web UI (`../ui`, plain files with no build step of their own)
//! into the binary: writes `$OUT_DIR/ui_assets.rs`, a sorted table of
//! `(path, bytes)` that `api::ui` serves at `/ui/`. Building needs cargo only.
//!
//! Also embeds the tool-search embedding model when it has been made
//! (`scripts/embed-model/make.sh` writes `core/model/tool-embed.bin`; `PORTCULLIS_EMBED_MODEL`
//! names another file): writes `$OUT_DIR/embed_model.rs` with `MODEL_BYTES`, `None` without it.
//!
//! And the container egress relay (`relay/main.rs`), compiled with `rustc` alone into a static
//! binary for Linux targets: `$OUT_DIR/egress_relay.rs` with `RELAY_BYTES`, `None` where it
//! cannot be made (another OS, or no static C library), said as a build warning.
//!
//! And names the scanner's code: writes `$OUT_DIR/scanner_source.rs` with `SCANNER_SOURCE`, a
//! hash of the files of `src/trust/` (tests left out). The store keeps it beside the findings of
//! each definition, so a binary whose rules differ scans every definition again.

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
    embed_model(&manifest);
    build_relay(&manifest);
    scanner_source(&manifest);
}

fn build_relay(manifest: &Path) {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let sources = [
        manifest.join("relay").join("main.rs"),
        manifest.join("src").join("isolation").join("relay_loop.rs"),
    ];
    for source in &sources {
        println!("cargo:rerun-if-changed={}", source.display());
    }
    let target = std::env::var("TARGET").expect("cargo sets TARGET");
    let binary = out.join("portcullis-egress-relay");
    let made = if target.contains("-linux-") {
        let fresh = modified(&binary).is_some_and(|made| {
            sources
                .iter()
                .all(|s| modified(s).is_some_and(|changed| changed <= made))
        });
        fresh || compile_relay(&sources[0], &binary, &target)
    } else {
        false
    };
    let code = if made {
        format!(
            "/// The container egress relay built for this binary's target.\npub(crate) static RELAY_BYTES: Option<&[u8]> = Some(include_bytes!({:?}));\n",
            binary.display().to_string()
        )
    } else {
        "/// No container egress relay was built for this target.\npub(crate) static RELAY_BYTES: Option<&[u8]> = None;\n".to_owned()
    };
    std::fs::write(out.join("egress_relay.rs"), code).expect("writing egress_relay.rs");
}

/// A static, stripped, size-optimised binary: it must run in any image.
fn compile_relay(source: &Path, binary: &Path, target: &str) -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let status = std::process::Command::new(rustc)
        .args([
            "--edition=2021",
            "--crate-name=portcullis_egress_relay",
            "--target",
            target,
        ])
        .args([
            "-C",
            "opt-level=s",
            "-C",
            "panic=abort",
            "-C",
            "strip=symbols",
        ])
        .args(["-C", "target-feature=+crt-static", "-o"])
        .arg(binary)
        .arg(source)
        .status();
    match status {
        Ok(s) if s.success() => true,
        Ok(s) => {
            println!("cargo:warning=the container egress relay did not build ({s}); Docker servers with an allow list will refuse to start (is the static C library, libc6-dev, installed?)");
            false
        }
        Err(e) => {
            println!("cargo:warning=could not run rustc for the container egress relay: {e}");
            false
        }
    }
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).ok()?.modified().ok()
}

fn scanner_source(manifest: &Path) {
    let trust = manifest.join("src").join("trust");
    println!("cargo:rerun-if-changed={}", trust.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&trust)
        .expect("src/trust is readable")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            name.ends_with(".rs") && !name.ends_with("_tests.rs")
        })
        .collect();
    files.sort();
    // FNV-1a, 64 bits: it only has to change when the code does.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut add = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        add(name.as_bytes());
        add(&[0]);
        add(&std::fs::read(path).expect("src/trust files are readable"));
        add(&[0]);
    }
    let code = format!(
        "/// A hash of the scanner's source files (`src/trust/`), written by build.rs.\nconst SCANNER_SOURCE: &str = \"{hash:016x}\";\n"
    );
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("scanner_source.rs");
    std::fs::write(dest, code).expect("writing scanner_source.rs");
}

fn embed_model(manifest: &Path) {
    println!("cargo:rerun-if-env-changed=PORTCULLIS_EMBED_MODEL");
    let model = std::env::var_os("PORTCULLIS_EMBED_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("model").join("tool-embed.bin"));
    // Watched even while missing, so making it later rebuilds with it.
    println!("cargo:rerun-if-changed={}", model.display());
    // The file's hash is taken here, once, rather than at every start: hashing it at run time
    // touched all of its pages, 8 MiB of the binary kept resident for nothing.
    let code = match model.canonicalize() {
        Ok(abs) if abs.is_file() => {
            let bytes = std::fs::read(&abs).expect("reading the embedding model");
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a, as search/embed/model.rs
            for &b in &bytes {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
            format!(
                "/// The embedding model file built into this binary, and its FNV-1a hash.\npub(crate) static MODEL_BYTES: Option<(&[u8], u64)> = Some((include_bytes!({:?}), 0x{hash:016x}));\n",
                abs.display().to_string()
            )
        }
        _ => "/// No embedding model was built into this binary.\npub(crate) static MODEL_BYTES: Option<(&[u8], u64)> = None;\n".to_owned(),
    };
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("embed_model.rs");
    std::fs::write(dest, code).expect("writing embed_model.rs");
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
