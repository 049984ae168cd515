//! Native notifications (freedesktop, through notify-rust) when tools become
//! pending or change.
//!
//! Guarantees:
//! - **Coalesced.** Events of one server are collected for [`COALESCE`] after
//!   the first one and shown as one notification naming the server and the
//!   count. While it is still on screen, later ones for the same server
//!   replace it (same notification id) with the counts added up. When more
//!   than [`MAX_SEPARATE`] servers are due at once, one summary is shown
//!   instead of one per server. So a server that flaps, or twenty that start
//!   together, never make a storm.
//! - **High severity first.** A tool whose definition has a high-severity
//!   scanner finding is named first, with its rules, on the notification's
//!   first line (and first in its list), so the person sees what to read
//!   before anything else.
//! - **Review.** The notification's "Review" action, or a click on it, opens
//!   the approval popup.
//! - **Block.** A server's notification also offers "Block", which blocks
//!   exactly the tools it names at that moment (a replaced notification
//!   names the merged list), through the same `Gateway::block_tools` the
//!   window uses. A summary of many servers offers Review only.
//! - **Approve.** When the scanner flagged none of the tools a server's
//!   notification names (no finding of medium or high severity), it also
//!   offers "Approve", which approves exactly the definitions the
//!   notification was made from (their hashes, looked up when it was due),
//!   as the tray's decision. Should the server list something else by then,
//!   nothing is approved and the popup opens instead.
//! - **Optional.** `notifications = false` in `[gateway]` (the Settings
//!   page) silences them, from the next batch on.
//! - **Never fatal.** Without a D-Bus session bus or a notification daemon
//!   nothing is shown; the reason is kept in [`NotificationState`] (shown in
//!   the status the pages and tests read) and logged once. The tray still
//!   shows what waits.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use portcullis::store::PendingTool;
use portcullis::trust::{Reviewed, Severity};
use portcullis::GatewayEvent;
use serde::Serialize;
use tauri::{AppHandle, Manager};
use tokio::time::Instant;

use crate::actions;
use crate::state::Desktop;

/// How long events of one server are collected before one notification.
pub const COALESCE: Duration = Duration::from_secs(2);
/// More servers than this due at once get one summary notification.
pub const MAX_SEPARATE: usize = 3;
/// How many tool names a notification lists before "and N more".
const NAMES_SHOWN: usize = 4;

/// Whether notifications can be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum NotificationState {
    /// Nothing tried yet.
    Unknown,
    /// A notification daemon answers on the session bus.
    Ready {
        /// The daemon's name (e.g. `dunst`).
        daemon: String,
    },
    /// Notifications cannot be shown.
    Unavailable {
        /// What failed.
        reason: String,
        /// What to do.
        hint: String,
    },
}

impl NotificationState {
    fn unavailable(error: &dyn std::fmt::Display) -> Self {
        Self::Unavailable {
            reason: format!("cannot reach a notification daemon on the D-Bus session bus: {error}"),
            hint: "run Portcullis in a desktop session (DBUS_SESSION_BUS_ADDRESS set) with a notification daemon such as dunst or notification-daemon; until then the tray icon shows what waits for approval".into(),
        }
    }
}

/// What waits to be said about one server.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Batch {
    /// New tools awaiting approval.
    pub new: BTreeSet<String>,
    /// Approved tools that changed and are held.
    pub changed: BTreeSet<String>,
    /// Of those, the ones whose definition has high-severity findings, with
    /// the rules that found them (filled from the store when the batch is due).
    pub high: BTreeMap<String, Vec<String>>,
    /// The definition hash of each named tool, when every one of them waits
    /// with nothing the scanner flagged (no finding of medium or high
    /// severity): what the Approve action approves, exactly. `None` when
    /// any named tool is flagged or no longer waits.
    pub clean: Option<BTreeMap<String, String>>,
}

impl Batch {
    fn merge(&mut self, other: &Batch) {
        // Approvable only while every tool it names was looked up clean (an
        // empty batch names nothing); the later lookup has the newer hash.
        self.clean = match (self.count(), self.clean.take(), &other.clean) {
            (0, _, theirs) => theirs.clone(),
            (_, Some(mut mine), Some(theirs)) => {
                mine.extend(theirs.iter().map(|(k, v)| (k.clone(), v.clone())));
                Some(mine)
            }
            _ => None,
        };
        self.new.extend(other.new.iter().cloned());
        self.changed.extend(other.changed.iter().cloned());
        // A tool both new and changed within one batch (rare) counts as changed.
        self.new.retain(|t| !self.changed.contains(t));
        self.high
            .extend(other.high.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(clean) = &self.clean {
            let named = self.new.len() + self.changed.len();
            let covered = self
                .new
                .iter()
                .chain(&self.changed)
                .filter(|t| clean.contains_key(*t))
                .count();
            if covered != named {
                self.clean = None;
            }
        }
    }

    /// What the Approve action approves: each named tool with the hash of the
    /// definition the notification was made from, or `None` when it must
    /// not be offered.
    pub fn approvable(&self) -> Option<Vec<Reviewed>> {
        let clean = self.clean.as_ref()?;
        let reviewed: Vec<Reviewed> = self
            .new
            .iter()
            .chain(&self.changed)
            .map(|t| clean.get(t).map(|h| Reviewed::new(t.clone(), h.clone())))
            .collect::<Option<_>>()?;
        (!reviewed.is_empty()).then_some(reviewed)
    }

    fn count(&self) -> usize {
        self.new.len() + self.changed.len()
    }

    /// Notes which of its tools have high-severity findings, from what waits
    /// for approval now (`pending`, as the store lists it).
    pub fn with_findings(mut self, server: &str, pending: &[PendingTool]) -> Self {
        let named = |t: &&PendingTool| {
            t.server == server && (self.new.contains(&t.name) || self.changed.contains(&t.name))
        };
        let waiting: Vec<&PendingTool> = pending.iter().filter(named).collect();
        let all_clean = waiting.len() == self.count()
            && waiting
                .iter()
                .all(|t| t.findings.iter().all(|f| f.severity < Severity::Medium));
        self.clean = all_clean.then(|| {
            waiting
                .iter()
                .map(|t| (t.name.clone(), t.hash.clone()))
                .collect()
        });
        self.high = pending
            .iter()
            .filter(|t| t.server == server)
            .filter(|t| self.new.contains(&t.name) || self.changed.contains(&t.name))
            .filter_map(|t| {
                let mut rules: Vec<String> = Vec::new();
                for f in t.findings.iter().filter(|f| f.severity == Severity::High) {
                    if !rules.iter().any(|r| r == f.rule) {
                        rules.push(f.rule.to_owned());
                    }
                }
                (!rules.is_empty()).then(|| (t.name.clone(), rules))
            })
            .collect();
        self
    }
}

fn tools(n: usize) -> String {
    format!("{n} tool{}", if n == 1 { "" } else { "s" })
}

/// The names of `set`, those in `high` first, cut after [`NAMES_SHOWN`].
fn names(set: &BTreeSet<String>, high: &BTreeMap<String, Vec<String>>) -> String {
    let (first, rest): (Vec<&String>, Vec<&String>) =
        set.iter().partition(|t| high.contains_key(*t));
    let shown: Vec<&str> = first
        .into_iter()
        .chain(rest)
        .take(NAMES_SHOWN)
        .map(String::as_str)
        .collect();
    let more = set.len().saturating_sub(NAMES_SHOWN);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// `High-severity: grab (hidden-instructions), send (exfiltration).`
fn high_line(high: &BTreeMap<String, Vec<String>>) -> Option<String> {
    if high.is_empty() {
        return None;
    }
    let named: Vec<String> = high
        .iter()
        .take(NAMES_SHOWN)
        .map(|(tool, rules)| format!("{tool} ({})", rules.join(", ")))
        .collect();
    let more = high.len().saturating_sub(NAMES_SHOWN);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Some(format!("High-severity: {}{more}.", named.join(", ")))
}

/// The summary and body of one server's notification. Tools with
/// high-severity findings come first: named with their rules on the first
/// line of the body, and first in their list.
pub fn text(server: &str, b: &Batch) -> (String, String) {
    let mut summary = match (b.new.len(), b.changed.len()) {
        (n, 0) => format!("{server}: {} awaiting approval", tools(n)),
        (0, c) => format!("{server}: {} changed, held for review", tools(c)),
        (n, c) => format!(
            "{server}: {} awaiting approval ({n} new, {c} changed)",
            tools(n + c)
        ),
    };
    match b.high.len() {
        0 => {}
        1 => summary.push_str(", 1 with a high-severity finding"),
        h => summary.push_str(&format!(", {h} with high-severity findings")),
    }
    let mut body: Vec<String> = high_line(&b.high).into_iter().collect();
    if !b.new.is_empty() {
        body.push(format!("New: {}.", names(&b.new, &b.high)));
    }
    if !b.changed.is_empty() {
        body.push(format!("Changed: {}.", names(&b.changed, &b.high)));
    }
    body.push("Agents cannot call them until you approve.".into());
    (summary, body.join("\n"))
}

/// The summary and body when many servers are due at once; servers with
/// high-severity findings first, and those findings named first.
pub fn summary_text(batches: &[(String, Batch)]) -> (String, String) {
    let total: usize = batches.iter().map(|(_, b)| b.count()).sum();
    let mut ordered: Vec<&(String, Batch)> = batches.iter().collect();
    ordered.sort_by_key(|(_, b)| b.high.is_empty());
    let servers: Vec<String> = ordered
        .iter()
        .map(|(s, b)| format!("{s} ({})", b.count()))
        .collect();
    let high: BTreeMap<String, Vec<String>> = ordered
        .iter()
        .flat_map(|(s, b)| {
            b.high
                .iter()
                .map(move |(t, rules)| (format!("{s}/{t}"), rules.clone()))
        })
        .collect();
    let mut body: Vec<String> = high_line(&high).into_iter().collect();
    body.push(format!("{}.", servers.join(", ")));
    body.push("Agents cannot call them until you approve.".into());
    (
        format!(
            "{} from {} servers awaiting approval",
            tools(total),
            batches.len()
        ),
        body.join("\n"),
    )
}

/// A notification on screen, for a server (or `*` for a summary).
struct Shown {
    id: u32,
    /// What it names now; the action handler reads it when the person acts.
    batch: Arc<Mutex<Batch>>,
    open: Arc<AtomicBool>,
}

/// What a person can do from a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationAction {
    /// Open the approval popup (a click on the notification does this too).
    Review,
    /// Block the tools the notification names.
    Block,
    /// Approve exactly the definitions the notification names (offered only
    /// when the scanner flagged none of them).
    Approve,
}

impl NotificationAction {
    /// The action's key on D-Bus (`ActionInvoked`'s second argument).
    pub fn key(self) -> &'static str {
        match self {
            Self::Review => "review",
            Self::Block => "block",
            Self::Approve => "approve",
        }
    }

    /// The action a key names; `default` is a click on the notification.
    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "default" | "review" => Some(Self::Review),
            "block" => Some(Self::Block),
            "approve" => Some(Self::Approve),
            _ => None,
        }
    }
}

/// Collects events into batches and shows them when due.
#[derive(Default)]
struct Coalescer {
    due: HashMap<String, (Instant, Batch)>,
}

impl Coalescer {
    fn add(&mut self, now: Instant, server: String, new: &[String], changed: &[String]) {
        let (_, batch) = self
            .due
            .entry(server)
            .or_insert_with(|| (now + COALESCE, Batch::default()));
        batch.merge(&Batch {
            new: new.iter().cloned().collect(),
            changed: changed.iter().cloned().collect(),
            high: BTreeMap::new(),
            // Looked up when the batch is due.
            clean: None,
        });
    }

    fn next_due(&self) -> Option<Instant> {
        self.due.values().map(|(t, _)| *t).min()
    }

    /// Takes the batches due by `now`, in server order.
    fn take_due(&mut self, now: Instant) -> Vec<(String, Batch)> {
        let names: Vec<String> = self
            .due
            .iter()
            .filter(|(_, (t, _))| *t <= now)
            .map(|(s, _)| s.clone())
            .collect();
        let mut out: Vec<(String, Batch)> = names
            .into_iter()
            .filter_map(|s| self.due.remove(&s).map(|(_, b)| (s, b)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// Watches the gateway's events and notifies. Ends with the gateway.
pub fn follow(app: &AppHandle) {
    let desktop = app.state::<Desktop>();
    let Ok(server) = desktop.server() else { return };
    let gw = server.gateway().clone();
    let icon = notification_icon(&server.paths().data);
    let (app, cancel, mut events) = (app.clone(), gw.cancellation(), gw.subscribe());
    let watched = gw.clone();
    gw.tasks().spawn(async move {
        probe(&app).await;
        let mut coalescer = Coalescer::default();
        let mut shown: HashMap<String, Shown> = HashMap::new();
        loop {
            let due = coalescer.next_due();
            tokio::select! {
                () = cancel.cancelled() => return,
                () = async { tokio::time::sleep_until(due.unwrap_or_else(Instant::now)).await }, if due.is_some() => {
                    // Which of them have high-severity findings, to name those first.
                    let pending = watched.pending_tools().unwrap_or_default();
                    let batches: Vec<(String, Batch)> = coalescer
                        .take_due(Instant::now())
                        .into_iter()
                        .map(|(s, b)| {
                            let b = b.with_findings(&s, &pending);
                            (s, b)
                        })
                        .collect();
                    // Settings → notifications off: the tray still shows what waits.
                    if !watched.settings().notifications {
                        tracing::debug!("notifications are off in the settings; {} server(s) not announced", batches.len());
                    } else if batches.len() > MAX_SEPARATE {
                        let (summary, body) = summary_text(&batches);
                        show(&app, &mut shown, "*", Batch::default(), summary, body, icon.as_deref()).await;
                    } else {
                        for (server, batch) in batches {
                            let mut merged = shown.get(&server).filter(|s| s.open.load(Ordering::SeqCst)).map(|s| s.batch.lock().clone()).unwrap_or_default();
                            merged.merge(&batch);
                            let (summary, body) = text(&server, &merged);
                            show(&app, &mut shown, &server, merged, summary, body, icon.as_deref()).await;
                        }
                    }
                }
                e = events.recv() => match e {
                    Ok(GatewayEvent::ToolsPending { server, tools }) => coalescer.add(Instant::now(), server, &tools, &[]),
                    Ok(GatewayEvent::ToolsModified { server, tools }) => coalescer.add(Instant::now(), server, &[], &tools),
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => tracing::warn!("notifications missed {n} gateway events"),
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
}

/// Asks the session bus for the notification daemon, to report the state early.
async fn probe(app: &AppHandle) {
    let state = match tokio::task::spawn_blocking(notify_rust::get_server_information).await {
        Ok(Ok(info)) => NotificationState::Ready { daemon: info.name },
        Ok(Err(e)) => NotificationState::unavailable(&e),
        Err(e) => NotificationState::unavailable(&e),
    };
    report(app, state);
}

fn report(app: &AppHandle, state: NotificationState) {
    let desktop = app.state::<Desktop>();
    let before = desktop.notifications();
    if before != state {
        match &state {
            NotificationState::Ready { daemon } => tracing::info!("notifications go to {daemon}"),
            NotificationState::Unavailable { reason, hint } => {
                tracing::warn!("notifications are off: {reason}\nhint: {hint}");
            }
            NotificationState::Unknown => {}
        }
    }
    desktop.set_notifications(state);
}

async fn show(
    app: &AppHandle,
    shown: &mut HashMap<String, Shown>,
    key: &str,
    batch: Batch,
    summary: String,
    body: String,
    icon: Option<&str>,
) {
    let mut n = notify_rust::Notification::new();
    n.appname("Portcullis")
        .summary(&summary)
        .body(&body)
        .action("default", "Review")
        .action(NotificationAction::Review.key(), "Review")
        .hint(notify_rust::Hint::Category("im.received".into()));
    // A summary of many servers names no tools to block.
    let server = (key != "*").then(|| key.to_owned());
    if server.is_some() {
        if batch.approvable().is_some() {
            n.action(NotificationAction::Approve.key(), "Approve");
        }
        n.action(NotificationAction::Block.key(), "Block");
    }
    if let Some(icon) = icon {
        n.icon(icon);
    }
    let replacing = shown
        .get(key)
        .filter(|s| s.open.load(Ordering::SeqCst))
        .map(|s| s.id);
    if let Some(id) = replacing {
        n.id(id);
    }
    let result = tokio::task::spawn_blocking(move || n.show()).await;
    let handle = match result {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return report(app, NotificationState::unavailable(&e)),
        Err(e) => return report(app, NotificationState::unavailable(&e)),
    };
    tracing::info!("notified: {summary}");
    if !matches!(
        app.state::<Desktop>().notifications(),
        NotificationState::Ready { .. }
    ) {
        report(
            app,
            NotificationState::Ready {
                daemon: "notification daemon".into(),
            },
        );
    }
    let id = handle.id();
    if replacing == Some(id) {
        // The waiter of the notification it replaced is still listening for this id.
        if let Some(s) = shown.get_mut(key) {
            *s.batch.lock() = batch;
        }
        return;
    }
    let open = Arc::new(AtomicBool::new(true));
    let named = Arc::new(Mutex::new(batch));
    shown.insert(
        key.to_owned(),
        Shown {
            id,
            batch: named.clone(),
            open: open.clone(),
        },
    );
    let app = app.clone();
    // Blocks until the person acts on it or it closes (the daemon's timeout).
    // Not a gateway task: Quit must not wait for a notification to expire.
    drop(tokio::task::spawn_blocking(move || {
        handle.wait_for_action(|key| {
            let Some(action) = NotificationAction::from_key(key) else {
                return;
            };
            let names = named.lock().clone();
            let done = match (action, &server) {
                (NotificationAction::Review, _) => actions::review(&app, server.as_deref()),
                (NotificationAction::Block, Some(server)) => actions::block_named(
                    &app,
                    server,
                    names.new.union(&names.changed).cloned().collect(),
                ),
                (NotificationAction::Approve, Some(server)) => match names.approvable() {
                    Some(reviewed) => actions::approve_reviewed(&app, server, reviewed),
                    None => actions::review(&app, Some(server)),
                },
                (NotificationAction::Block | NotificationAction::Approve, None) => Ok(()),
            };
            if let Err(e) = done {
                tracing::error!("the notification's {key} action failed: {}", e.message);
            }
        });
        open.store(false, Ordering::SeqCst);
    }));
}

/// Writes the app icon where the notification daemon can read it.
fn notification_icon(data: &std::path::Path) -> Option<String> {
    let path = data.join("desktop").join("portcullis-128.png");
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(path.parent().unwrap_or(data))?;
        std::fs::write(&path, include_bytes!("../../icons/128x128.png"))
    };
    match write() {
        Ok(()) => Some(path.display().to_string()),
        Err(e) => {
            tracing::debug!("no icon for notifications: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn one_server_one_notification_with_the_count() {
        let mut c = Coalescer::default();
        let t0 = Instant::now();
        c.add(t0, "everything".into(), &names(&["echo", "add"]), &[]);
        c.add(
            t0 + Duration::from_millis(500),
            "everything".into(),
            &names(&["add", "printEnv"]),
            &[],
        );
        assert!(c.take_due(t0 + Duration::from_millis(1999)).is_empty());
        let due = c.take_due(t0 + COALESCE);
        assert_eq!(due.len(), 1);
        let (summary, body) = text(&due[0].0, &due[0].1);
        assert_eq!(summary, "everything: 3 tools awaiting approval");
        assert_eq!(
            body,
            "New: add, echo, printEnv.\nAgents cannot call them until you approve."
        );
        assert!(c.next_due().is_none());
    }

    #[test]
    fn changed_and_new_are_told_apart() {
        let b = Batch {
            new: ["a".to_owned()].into(),
            changed: ["b".to_owned(), "c".to_owned()].into(),
            ..Batch::default()
        };
        assert_eq!(
            text("git", &b).0,
            "git: 3 tools awaiting approval (1 new, 2 changed)"
        );
        let only_changed = Batch {
            changed: ["b".to_owned()].into(),
            ..Batch::default()
        };
        assert_eq!(
            text("git", &only_changed).0,
            "git: 1 tool changed, held for review"
        );
    }

    #[test]
    fn long_lists_are_cut() {
        let b = Batch {
            new: (0..10).map(|i| format!("t{i}")).collect(),
            ..Batch::default()
        };
        assert_eq!(
            text("s", &b).1.lines().next().unwrap(),
            "New: t0, t1, t2, t3 and 6 more."
        );
    }

    fn pending(server: &str, name: &str, findings: &[(&'static str, Severity)]) -> PendingTool {
        PendingTool {
            server: server.into(),
            server_state: portcullis::trust::ServerState::Trusted,
            name: name.into(),
            state: portcullis::trust::ToolState::Pending,
            hash: "h".into(),
            description: None,
            definition: serde_json::json!({ "name": name }),
            approved: None,
            findings: findings
                .iter()
                .map(|(rule, severity)| portcullis::trust::Finding {
                    rule,
                    severity: *severity,
                    message: "m".into(),
                    excerpt: String::new(),
                    span: None,
                })
                .collect(),
            first_seen: portcullis::store::UnixMillis(0),
        }
    }

    #[test]
    fn high_severity_findings_are_named_first() {
        let b = Batch {
            new: ["add".to_owned(), "echo".to_owned(), "grab".to_owned()].into(),
            ..Batch::default()
        };
        let pending = [
            pending("s", "add", &[("secret-paths", Severity::Medium)]),
            pending(
                "s",
                "grab",
                &[
                    ("hidden-instructions", Severity::High),
                    ("secret-paths", Severity::Medium),
                    ("exfiltration", Severity::High),
                ],
            ),
            pending("other", "echo", &[("hidden-instructions", Severity::High)]),
        ];
        let b = b.with_findings("s", &pending);
        let (summary, body) = text("s", &b);
        assert_eq!(
            summary,
            "s: 3 tools awaiting approval, 1 with a high-severity finding"
        );
        assert_eq!(
            body,
            "High-severity: grab (hidden-instructions, exfiltration).\nNew: grab, add, echo.\nAgents cannot call them until you approve."
        );
        let quiet = Batch {
            new: ["x".to_owned()].into(),
            ..Batch::default()
        };
        let (_, body) = summary_text(&[("a".into(), quiet), ("s".into(), b)]);
        assert!(
            body.starts_with(
                "High-severity: s/grab (hidden-instructions, exfiltration).\ns (3), a (1)."
            ),
            "{body}"
        );
    }

    #[test]
    fn approve_is_offered_only_for_clean_tools_that_still_wait() {
        let named = |names: &[&str]| Batch {
            new: names.iter().map(|n| (*n).to_owned()).collect(),
            ..Batch::default()
        };
        let low = [("unicode", Severity::Low)];
        let waiting = [
            pending("s", "add", &low),
            pending("s", "echo", &[]),
            pending("s", "grab", &[("secret-paths", Severity::Medium)]),
            pending("other", "gone", &[]),
        ];
        // Every named tool waits, none flagged above low: each is approved
        // with the hash it waits with.
        let clean = named(&["add", "echo"]).with_findings("s", &waiting);
        let reviewed = clean.approvable().expect("clean tools are approvable");
        let names: Vec<&str> = reviewed.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["add", "echo"]);
        assert!(reviewed.iter().all(|r| r.hash == "h"));
        // One medium finding, or a named tool that no longer waits: no Approve.
        let flagged = named(&["add", "grab"]).with_findings("s", &waiting);
        assert_eq!(flagged.approvable(), None);
        let gone = named(&["add", "gone"]).with_findings("s", &waiting);
        assert_eq!(gone.approvable(), None);
        // Merging keeps Approve only while both halves are clean.
        let mut both = clean.clone();
        both.merge(&named(&["echo"]).with_findings("s", &waiting));
        assert_eq!(both.approvable().map(|r| r.len()), Some(2));
        let mut spoiled = clean.clone();
        spoiled.merge(&flagged);
        assert_eq!(spoiled.approvable(), None);
        // A batch still collecting events has not been looked up.
        let mut collecting = Coalescer::default();
        collecting.add(Instant::now(), "s".into(), &["add".into()], &[]);
        let (_, due) = collecting.take_due(Instant::now() + COALESCE).remove(0);
        assert_eq!(due.approvable(), None);
    }

    #[test]
    fn many_servers_at_once_get_one_summary() {
        let batches: Vec<(String, Batch)> = (0..5)
            .map(|i| {
                (
                    format!("s{i}"),
                    Batch {
                        new: ["x".to_owned()].into(),
                        ..Batch::default()
                    },
                )
            })
            .collect();
        let (summary, body) = summary_text(&batches);
        assert_eq!(summary, "5 tools from 5 servers awaiting approval");
        assert!(body.starts_with("s0 (1), s1 (1)"), "{body}");
    }
}
