//! `portcullis://` links: what a second launch, the `.desktop` entry's `%u`
//! or a page elsewhere can ask the running app to show. A link names a page
//! of the window (with an optional query) or the approval popup; anything
//! else is refused, so a link can only choose what is shown, never act.

/// The scheme the package registers (x-scheme-handler/portcullis).
pub const SCHEME: &str = "portcullis://";

/// The pages of the web UI a link may open (ui/js/app.js's routes).
const PAGES: &[&str] = &[
    "servers",
    "tools",
    "approvals",
    "activity",
    "connect",
    "settings",
    "welcome",
];

/// What a link asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// The approval popup (`portcullis://review`).
    Review,
    /// A page of the main window, as the hash route `#/page?query`.
    Page(String),
}

/// Reads a link; `None` for anything that is not one this app knows.
pub fn parse(arg: &str) -> Option<Link> {
    let rest = arg.strip_prefix(SCHEME)?.trim_end_matches('/');
    let (page, query) = rest.split_once('?').unwrap_or((rest, ""));
    let page = page.trim_end_matches('/');
    if page == "review" && query.is_empty() {
        return Some(Link::Review);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_the_popup_are_links() {
        assert_eq!(parse("portcullis://review"), Some(Link::Review));
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
    fn anything_else_is_refused() {
        assert_eq!(parse("https://example.org"), None);
        assert_eq!(parse("portcullis://nowhere"), None);
        assert_eq!(parse("portcullis://tools?x=<script>"), None);
        assert_eq!(parse("portcullis://tools?x=');alert(1)//"), None);
        assert_eq!(parse("/home/me/mcp.json"), None);
    }
}
