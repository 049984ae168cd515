//! The states of servers and tools, who decides them, and why a call is or
//! is not allowed.
//!
//! These are plain values shared by the store (which persists them), the
//! gateway (which enforces them) and the adapters (which show them). Each
//! state has one stable lowercase spelling, used in the database, in JSON and
//! on the command line.

use serde::{Deserialize, Serialize};

macro_rules! spelled_enum {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The stable spelling used in the database, JSON and the CLI.
            pub const fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }

            /// The value spelled `text`, if any.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($ty::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use spelled_enum;

/// Whether the gateway may start a server and route calls to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerState {
    /// Known but not approved: not started, its tools are not callable.
    Pending,
    /// Approved by a person: started, its approved tools are callable.
    Trusted,
    /// Refused by a person: never started.
    Blocked,
}
spelled_enum!(ServerState { Pending => "pending", Trusted => "trusted", Blocked => "blocked" });

/// How a server first became known. It decides the first state only:
/// re-registering a server never changes its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerOrigin {
    /// Added by a person through the CLI, the window or the admin API:
    /// starts [`ServerState::Trusted`] so its tools can be discovered.
    Person,
    /// Appeared in the config file through an outside edit: starts
    /// [`ServerState::Pending`] and is not started until a person approves it.
    ConfigFile,
}
spelled_enum!(ServerOrigin { Person => "person", ConfigFile => "config_file" });

impl ServerOrigin {
    /// The state a server registered with this origin starts in.
    pub const fn initial_state(self) -> ServerState {
        match self {
            ServerOrigin::Person => ServerState::Trusted,
            ServerOrigin::ConfigFile => ServerState::Pending,
        }
    }
}

/// Whether a tool's current definition has been approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolState {
    /// Listed by its upstream but never approved.
    Pending,
    /// The current definition is the approved one.
    Approved,
    /// Was approved, but the upstream now lists a different definition; the
    /// approved definition is kept so a person can compare them.
    Changed,
    /// Refused by a person, whatever its definition.
    Blocked,
}
spelled_enum!(ToolState {
    Pending => "pending",
    Approved => "approved",
    Changed => "changed",
    Blocked => "blocked",
});

/// Who took a decision, for the activity log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Actor {
    /// A person at the command line.
    Cli,
    /// A person in the desktop window or web UI.
    Window,
    /// A program holding the admin token.
    Api,
    /// A person in the desktop app's approval popup.
    Popup,
    /// A person in the desktop app's tray menu or a notification's action.
    Tray,
}
spelled_enum!(Actor { Cli => "cli", Window => "window", Api => "api", Popup => "popup", Tray => "tray" });

/// A definition a person was shown and decided to approve: the tool's
/// upstream name and the hash of the definition they saw. The store approves
/// it only while the server still lists exactly that definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reviewed {
    /// The tool's upstream name (or, for other items, their key).
    pub name: String,
    /// The definition hash the person was shown.
    pub hash: String,
}

impl Reviewed {
    /// A reviewed definition.
    pub fn new(name: impl Into<String>, hash: impl Into<String>) -> Self {
        Reviewed {
            name: name.into(),
            hash: hash.into(),
        }
    }
}

/// Whether the person deliberately confirmed approving definitions the
/// scanner reported a high-severity finding in. Without it, the store
/// refuses such an approval and approves nothing; every front end asks in
/// its own way (a second click, `--yes` or a terminal prompt,
/// `"confirm_high": true`) and passes the answer here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HighFindings {
    /// Not confirmed: an approval that includes a definition with a
    /// high-severity finding is refused.
    #[default]
    Unconfirmed,
    /// Confirmed after seeing the findings: approve them anyway.
    Confirmed,
}

impl HighFindings {
    /// `Confirmed` when `confirmed` is true.
    pub const fn from_flag(confirmed: bool) -> Self {
        if confirmed {
            HighFindings::Confirmed
        } else {
            HighFindings::Unconfirmed
        }
    }
}

/// Which tools of a server a decision applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolSelection {
    /// Every tool the server currently lists. Approving `All` approves the
    /// pending and changed ones and leaves blocked tools blocked (name a
    /// blocked tool to approve it); blocking `All` blocks every listed tool.
    All,
    /// These tools, by their upstream name. Naming a tool the server never
    /// listed is an error and nothing is decided.
    Names(Vec<String>),
}

impl ToolSelection {
    /// A selection of the given names.
    pub fn names<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ToolSelection::Names(names.into_iter().map(Into::into).collect())
    }
}

/// Whether a call to a tool may go through, and if not, why.
///
/// Only [`Callability::Callable`] allows the call. The other variants name the
/// reason so the gateway can tell the agent which tool is held back and how a
/// person can release it (see [`Callability::explain`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Callability {
    /// The server is trusted and the tool's current definition is approved.
    Callable,
    /// The store has never seen this server.
    UnknownServer,
    /// The server waits for a person's approval.
    ServerPending,
    /// A person blocked the server.
    ServerBlocked,
    /// The server never listed a tool of this name.
    UnknownTool,
    /// The tool waits for a person's approval.
    ToolPending,
    /// The tool's definition changed since it was approved.
    ToolChanged,
    /// A person blocked the tool.
    ToolBlocked,
    /// The tool was approved but its server no longer lists it.
    ToolAbsent,
}

impl Callability {
    /// Whether the call may go through.
    pub const fn is_callable(self) -> bool {
        matches!(self, Callability::Callable)
    }

    /// A sentence for the agent and the person: what holds the call back and
    /// what a person can do about it. Empty for [`Callability::Callable`].
    pub fn explain(self, server: &str, tool: &str) -> String {
        match self {
            Callability::Callable => String::new(),
            Callability::UnknownServer => format!(
                "server `{server}` is not known to Portcullis; \
                 a person can add it with `portcullis upstream add --name {server} ...`"
            ),
            Callability::ServerPending => format!(
                "server `{server}` is waiting for approval, so `{tool}` cannot be called yet; \
                 a person can approve it with `portcullis upstream approve --name {server}`"
            ),
            Callability::ServerBlocked => format!(
                "server `{server}` was blocked by a person, so `{tool}` cannot be called; \
                 a person can unblock it with `portcullis upstream approve --name {server}`"
            ),
            Callability::UnknownTool => format!(
                "server `{server}` does not list a tool named `{tool}`; \
                 search the available tools and use one of their exact names"
            ),
            Callability::ToolPending => format!(
                "tool `{tool}` of server `{server}` is waiting for approval; \
                 a person can approve it with `portcullis upstream approve --name {server} --tools {tool}`"
            ),
            Callability::ToolChanged => format!(
                "tool `{tool}` of server `{server}` changed its definition since it was approved \
                 and is held until a person reviews the change; \
                 a person can approve it with `portcullis upstream approve --name {server} --tools {tool}`"
            ),
            Callability::ToolBlocked => format!(
                "tool `{tool}` of server `{server}` was blocked by a person; \
                 a person can unblock it with `portcullis upstream approve --name {server} --tools {tool}`"
            ),
            Callability::ToolAbsent => format!(
                "server `{server}` no longer lists the tool `{tool}`; \
                 search the available tools for a replacement"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for s in ServerState::ALL {
            assert_eq!(ServerState::parse(s.as_str()), Some(*s));
        }
        for s in ToolState::ALL {
            assert_eq!(ToolState::parse(s.as_str()), Some(*s));
        }
        for s in ServerOrigin::ALL {
            assert_eq!(ServerOrigin::parse(s.as_str()), Some(*s));
        }
        for s in Actor::ALL {
            assert_eq!(Actor::parse(s.as_str()), Some(*s));
        }
        assert_eq!(ToolState::parse("nope"), None);
        assert_eq!(
            serde_json::to_string(&ServerOrigin::ConfigFile).unwrap(),
            "\"config_file\""
        );
    }

    #[test]
    fn explanations_name_the_tool_and_the_fix() {
        let text = Callability::ToolChanged.explain("github", "create_issue");
        assert!(text.contains("create_issue") && text.contains("approve"));
        assert!(Callability::Callable.explain("a", "b").is_empty());
    }
}
