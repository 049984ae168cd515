//! What a launch may ask the running app to show: a `portcullis://` link
//! (from a second launch, the `.desktop` entry's `%u`, or a page elsewhere)
//! or a client's MCP config file to import (a path, or a `file://` URI from
//! a file manager). A link names a page of the window (with an optional
//! query) or the approval popup (optionally on one server's items); a file
//! opens the import page on it. Anything else is refused, so an argument
//! only chooses what is shown, never acts: importing, approving and
//! blocking each wait for the person's click.
//!
//! The scheme, as documented in the README:
//!
//! | link | shows |
//! |---|---|
//! | `portcullis://` | the Servers page |
//! | `portcullis://<page>[?query]` | that page of the window (servers, catalog, tools, approvals, activity, connect, settings, welcome) |
//! | `portcullis://review` | the approval popup, everything that waits |
//! | `portcullis://approve?server=NAME` | the approval popup on NAME's waiting items (also `review?server=NAME`) |

use std::path::{Path, PathBuf};

/// The scheme the package registers (x-scheme-handler/portcullis).
pub const SCHEME: &str = "portcullis://";

/// The pages of the web UI a link may open (ui/js/app.js's routes).
const PAGES: &[&str] = &[
    "servers",
    "catalog",
    "tools",
    "approvals",
    "activity",
    "connect",
    "settings",
    "welcome",
];

/// What a launch asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// The approval popup (`portcullis://review`), on one server's items
    /// when it names one (`portcullis://approve?server=NAME`).
    Review {
        /// The server whose waiting items are shown; all when `None`.
        server: Option<String>,
    },
    /// A page of the main window, as the hash route `#/page?query`.
    Page(String),
    /// A client's MCP config file, to import from (after the person's click).
    Import(PathBuf),
}

/// Reads an argument; `None` for anything that is not one this app knows.
pub fn parse(arg: &str) -> Option<Link> {
    if let Some(rest) = arg.strip_prefix(SCHEME) {
        return parse_link(rest);
    }
    if arg.starts_with("file:") {
        let path = tauri::Url::parse(arg).ok()?.to_file_path().ok()?;
        return Some(Link::Import(path));
    }
    let path = Path::new(arg);
    path.is_absolute().then(|| Link::Import(path.to_path_buf()))
}

/// An argument as the running app (whose working folder may differ) must
/// get it: a relative path that names a file here becomes absolute.
pub fn absolute(arg: &str, cwd: &Path) -> String {
    let path = Path::new(arg);
    if arg.contains("://") || arg.starts_with("file:") || path.is_absolute() {
        return arg.to_owned();
    }
    let full = cwd.join(path);
    if full.is_file() {
        full.display().to_string()
    } else {
        arg.to_owned()
    }
}

fn parse_link(rest: &str) -> Option<Link> {
    let rest = rest.trim_end_matches('/');
    let (page, query) = rest.split_once('?').unwrap_or((rest, ""));
    let page = page.trim_end_matches('/');
    if page == "review" || page == "approve" {
        return review(query);
    }
    let page = if page.is_empty() { "servers" } else { page };
    if !PAGES.contains(&page) {
        return None;
    }
    // The query becomes part of a URL fragment: only plain, already-encoded text.
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.~%=&+".contains(c);
    if !query.chars().all(plain) {
        return None;
    }
    Some(Link::Page(if query.is_empty() {
        format!("#/{page}")
    } else {
        format!("#/{page}?{query}")
    }))
}

/// `review` and `approve`: no query, or `server=NAME` with a valid server
/// name (1 to 64 of `[A-Za-z0-9_-]`, as core checks them).
fn review(query: &str) -> Option<Link> {
    if query.is_empty() {
        return Some(Link::Review { server: None });
    }
    let name = query.strip_prefix("server=")?;
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    valid.then(|| Link::Review {
        server: Some(name.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_the_popup_are_links() {
        assert_eq!(
            parse("portcullis://review"),
            Some(Link::Review { server: None })
        );
        assert_eq!(
            parse("portcullis://settings/"),
            Some(Link::Page("#/settings".into()))
        );
        assert_eq!(
            parse("portcullis://tools?server=git&tool=log"),
            Some(Link::Page("#/tools?server=git&tool=log".into()))
        );
        assert_eq!(parse("portcullis://"), Some(Link::Page("#/servers".into())));
    }

    #[test]
    fn approve_names_one_server() {
        let git = Some(Link::Review {
            server: Some("git-2".into()),
        });
        assert_eq!(parse("portcullis://approve?server=git-2"), git);
        assert_eq!(parse("portcullis://review?server=git-2/"), git);
        assert_eq!(parse("portcullis://approve?server="), None);
        assert_eq!(parse("portcullis://approve?server=a/b"), None);
        assert_eq!(parse("portcullis://approve?tool=x"), None);
    }

    #[test]
    fn files_are_imports() {
        assert_eq!(
            parse("/home/me/.cursor/mcp.json"),
            Some(Link::Import("/home/me/.cursor/mcp.json".into()))
        );
        assert_eq!(
            parse("file:///home/me/my%20configs/codex.toml"),
            Some(Link::Import("/home/me/my configs/codex.toml".into()))
        );
        assert_eq!(
            parse("mcp.json"),
            None,
            "relative: absolute() resolves it first"
        );
    }

    #[test]
    fn a_relative_file_is_made_absolute_for_the_running_app() {
        let dir = std::env::temp_dir().join(format!("portcullis-links-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("mcp.json"), "{}").unwrap();
        let full = dir.join("mcp.json").display().to_string();
        assert_eq!(absolute("mcp.json", &dir), full);
        assert_eq!(absolute("missing.json", &dir), "missing.json");
        assert_eq!(absolute("portcullis://review", &dir), "portcullis://review");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn anything_else_is_refused() {
        assert_eq!(parse("https://example.org"), None);
        assert_eq!(parse("portcullis://nowhere"), None);
        assert_eq!(parse("portcullis://tools?x=<script>"), None);
        assert_eq!(parse("portcullis://tools?x=');alert(1)//"), None);
        assert_eq!(parse("file://remote-host/etc/passwd"), None);
    }
}
