//! `[profiles.NAME]`: a named view of the gateway for one kind of work or
//! one client. A profile lists servers (names or globs) and optionally tools
//! (globs over the names the servers give them, or `server/glob` for one
//! server); it is served at `/mcp/p/NAME` and can be bound to a client's
//! token. Everything an agent reaches through it (search, describe, call,
//! direct listing, resources, prompts) is inside it; the rest does not
//! exist for that agent.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::SurfaceMode;

/// `[profiles.NAME]` as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// What the profile is for, shown by `profile list` and the web UI.
    pub description: Option<String>,
    /// The servers whose tools, resources and prompts it offers: names, or
    /// globs (`*` any run of characters, `?` one).
    #[serde(default)]
    pub servers: Vec<String>,
    /// Only these tools of those servers (globs over a tool's name as its
    /// server gives it, or `server/glob` for one server's). Unset: all of them.
    pub tools: Option<Vec<String>>,
    /// What an agent sees at `/mcp/p/NAME`. Default: `[gateway] surface`.
    pub surface: Option<SurfaceMode>,
}

/// One resolved profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Server patterns.
    pub servers: Vec<String>,
    /// Tool patterns; empty: every tool of its servers.
    pub tools: Vec<String>,
    /// Its surface, if it sets one.
    pub surface: Option<SurfaceMode>,
}

impl Profile {
    /// Whether it offers server `server`'s resources, prompts and (some of its) tools.
    pub fn has_server(&self, server: &str) -> bool {
        self.servers.iter().any(|p| glob_match(p, server))
    }

    /// Whether it offers tool `tool` of server `server` (its upstream name).
    pub fn has_tool(&self, server: &str, tool: &str) -> bool {
        if !self.has_server(server) {
            return false;
        }
        self.tools.is_empty()
            || self.tools.iter().any(|p| match p.split_once('/') {
                Some((s, t)) => glob_match(s, server) && glob_match(t, tool),
                None => glob_match(p, tool),
            })
    }

    /// The profile of nothing: what a session opened for a profile sees once
    /// that profile is removed from the config.
    pub fn nothing(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            description: None,
            servers: Vec::new(),
            tools: Vec::new(),
            surface: None,
        }
    }

    /// Checks `[profiles]`; an error is (what was wrong, what to do).
    pub(super) fn resolve_all(
        file: &IndexMap<String, ProfileConfig>,
    ) -> Result<IndexMap<String, Profile>, (String, String)> {
        let mut out = IndexMap::new();
        for (name, p) in file {
            check_profile_name(name).map_err(|why| {
                (
                    format!("[profiles.{name}]: `{name}` is not a profile name: {why}"),
                    "name profiles like `coding` or `read-only`".to_owned(),
                )
            })?;
            let servers: Vec<String> = p.servers.iter().map(|s| s.trim().to_owned()).collect();
            if servers.is_empty() {
                return Err((
                    format!("[profiles.{name}] lists no servers, so it would offer nothing"),
                    format!("add the servers it offers, e.g. `servers = [\"github\", \"git\"]` under [profiles.{name}] (globs like \"git*\" are allowed)"),
                ));
            }
            let tools: Vec<String> = p
                .tools
                .iter()
                .flatten()
                .map(|s| s.trim().to_owned())
                .collect();
            for pattern in servers.iter().chain(&tools) {
                if pattern.is_empty() || pattern.starts_with('/') || pattern.ends_with('/') {
                    return Err((
                        format!("[profiles.{name}]: the pattern `{pattern}` is empty or has an empty side"),
                        "write a name or glob, e.g. \"github\", \"list_*\" or \"github/create_*\"".to_owned(),
                    ));
                }
            }
            if p.tools.as_ref().is_some_and(Vec::is_empty) {
                return Err((
                    format!("[profiles.{name}] has `tools = []`, so it would offer no tool"),
                    format!("list the tools it offers, or remove `tools` from [profiles.{name}] to offer every tool of its servers"),
                ));
            }
            out.insert(
                name.clone(),
                Profile {
                    name: name.clone(),
                    description: p.description.clone().filter(|d| !d.trim().is_empty()),
                    servers,
                    tools,
                    surface: p.surface,
                },
            );
        }
        Ok(out)
    }
}

/// Whether `name` can name a profile (it is part of a URL path).
pub fn check_profile_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 64 {
        return Err("it must be 1 to 64 characters long");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
    {
        return Err("use only A-Z a-z 0-9 _ -");
    }
    Ok(())
}

/// Whether `text` matches `pattern`, where `*` is any run of characters and
/// `?` any one; everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it now covers up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names() {
        for (p, t) in [
            ("github", "github"),
            ("git*", "github"),
            ("*", ""),
            ("list_*", "list_issues"),
            ("*_issue", "create_issue"),
            ("get_?", "get_a"),
            ("a*b*c", "aXXbYYc"),
            ("*a*", "banana"),
        ] {
            assert!(glob_match(p, t), "{p} should match {t}");
        }
        for (p, t) in [
            ("git", "github"),
            ("list_*", "get_list"),
            ("get_?", "get_ab"),
            ("a*b*c", "aXXbYY"),
            ("", "x"),
        ] {
            assert!(!glob_match(p, t), "{p} should not match {t}");
        }
    }

    fn profile(servers: &[&str], tools: Option<&[&str]>) -> Profile {
        let mut file = IndexMap::new();
        file.insert(
            "p".to_owned(),
            ProfileConfig {
                servers: servers.iter().map(|s| s.to_string()).collect(),
                tools: tools.map(|t| t.iter().map(|s| s.to_string()).collect()),
                ..ProfileConfig::default()
            },
        );
        Profile::resolve_all(&file)
            .unwrap()
            .swap_remove("p")
            .unwrap()
    }

    #[test]
    fn a_profile_offers_its_servers_tools_or_the_ones_it_names() {
        let all = profile(&["github", "git*"], None);
        assert!(all.has_tool("github", "create_issue"));
        assert!(all.has_tool("gitlab", "anything"));
        assert!(!all.has_tool("slack", "post"));
        assert!(!all.has_server("slack"));

        let some = profile(&["github", "time"], Some(&["list_*", "time/get_*"]));
        assert!(some.has_tool("github", "list_issues"));
        assert!(!some.has_tool("github", "create_issue"));
        assert!(some.has_tool("time", "get_current_time"));
        assert!(
            some.has_tool("time", "list_zones"),
            "a plain glob covers every server"
        );
        assert!(!some.has_tool("slack", "list_channels"), "only its servers");
        assert!(some.has_server("time"));
    }

    #[test]
    fn a_profile_that_would_offer_nothing_is_refused_with_what_to_write() {
        let mut file = IndexMap::new();
        file.insert("empty".to_owned(), ProfileConfig::default());
        let (msg, hint) = Profile::resolve_all(&file).unwrap_err();
        assert!(msg.contains("lists no servers"), "{msg}");
        assert!(hint.contains("servers = ["), "{hint}");

        let mut file = IndexMap::new();
        file.insert(
            "bad name".to_owned(),
            ProfileConfig {
                servers: vec!["a".into()],
                ..ProfileConfig::default()
            },
        );
        let (msg, _) = Profile::resolve_all(&file).unwrap_err();
        assert!(msg.contains("not a profile name"), "{msg}");

        let mut file = IndexMap::new();
        file.insert(
            "p".to_owned(),
            ProfileConfig {
                servers: vec!["a".into()],
                tools: Some(vec!["a/".into()]),
                ..ProfileConfig::default()
            },
        );
        assert!(Profile::resolve_all(&file).is_err());
    }
}
