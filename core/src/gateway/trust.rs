//! Quarantine in the gateway: the store decides, the gateway enforces.
//!
//! A server starts only when the store says it is trusted; a tool is listed
//! (direct mode) and callable only when its server is trusted and its current
//! definition is the approved one. Decisions are taken through the typed
//! operations below, which the CLI, the admin API and the desktop app all
//! call; nothing on the MCP endpoint can reach them.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use super::{Gateway, GatewayError, GatewayEvent};
use crate::search::ToolDoc;
use crate::store::{ActivityEntry, ActivityQuery, PendingTool, StoreError, ToolDiff, ToolStatus};
use crate::trust::{
    Actor, Callability, HighFindings, Reviewed, ServerState, ToolSelection, ToolState,
};

/// The decisions of the store, cached for the hot path.
#[derive(Default)]
pub(crate) struct TrustView {
    servers: HashMap<String, ServerState>,
    tools: HashMap<String, HashMap<String, ToolState>>,
    items: HashMap<String, super::items::ItemView>,
    /// The listing of each server the store last recorded, so that a decision
    /// records it again only when the server listed something new since.
    observed: HashMap<String, Arc<Vec<crate::upstream::Tool>>>,
}

impl TrustView {
    pub(crate) fn callability(&self, server: &str, tool: &str) -> Callability {
        match self.servers.get(server) {
            None => Callability::UnknownServer,
            Some(ServerState::Pending) => Callability::ServerPending,
            Some(ServerState::Blocked) => Callability::ServerBlocked,
            Some(ServerState::Trusted) => match self.tools.get(server).and_then(|t| t.get(tool)) {
                None => Callability::UnknownTool,
                Some(ToolState::Approved) => Callability::Callable,
                Some(ToolState::Pending) => Callability::ToolPending,
                Some(ToolState::Changed) => Callability::ToolChanged,
                Some(ToolState::Blocked) => Callability::ToolBlocked,
            },
        }
    }

    /// What was decided about the server's items.
    pub(crate) fn items(&self, server: &str) -> super::items::ItemView {
        self.items.get(server).cloned().unwrap_or_default()
    }

    /// Whether a person trusted the server.
    pub(crate) fn server_trusted(&self, server: &str) -> bool {
        self.servers.get(server) == Some(&ServerState::Trusted)
    }

    fn tool_state(&self, server: &str, tool: &str) -> Option<ToolState> {
        self.tools.get(server).and_then(|t| t.get(tool)).copied()
    }
}

/// The outcome of a decision, for the front ends to print.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// The server.
    pub server: String,
    /// The server's state after the decision.
    pub server_state: ServerState,
    /// The tools the decision changed, with their new state.
    pub tools: Vec<(String, ToolState)>,
}

/// One tool, for a person deciding on it.
#[derive(Debug, Clone, Serialize)]
pub struct ToolDetail {
    /// Its server.
    pub server: String,
    /// Its upstream name.
    pub name: String,
    /// The name clients call it by, while its server lists it.
    pub downstream_name: Option<String>,
    /// `approved`, `pending`, `changed` or `blocked`.
    pub state: ToolState,
    /// Whether clients may call it now.
    pub callable: bool,
    /// Its compact argument signature.
    pub signature: String,
    /// The hash of `definition`: what an approval of it names.
    pub hash: String,
    /// Its definition.
    pub definition: serde_json::Value,
    /// For a changed tool, the definition a person approved.
    pub approved: Option<serde_json::Value>,
    /// The scanner's findings on its definition.
    pub findings: Vec<crate::trust::Finding>,
}

/// What a tool decision does.
#[derive(Clone, Copy)]
enum Choice<'a> {
    /// Approve these reviewed definitions (those with high-severity
    /// findings only if confirmed).
    Approve(&'a [Reviewed], HighFindings),
    /// Block these tools.
    Block(&'a ToolSelection),
}

fn store_err(e: StoreError) -> GatewayError {
    GatewayError::Store { error: e }
}

impl Gateway {
    /// Reloads one server's decisions from the store into the cache.
    pub(crate) fn refresh_trust(&self, server: &str) {
        let store = &self.inner.store;
        let state = store.server(server).ok().flatten().map(|s| s.state);
        let tools: HashMap<String, ToolState> = store
            .tools(server)
            .unwrap_or_default()
            .into_iter()
            .filter(|t| t.present)
            .map(|t| (t.name, t.state))
            .collect();
        let items = super::items::ItemView::from_store(store.items(server).unwrap_or_default());
        let mut view = self.inner.trust.write();
        match state {
            Some(s) => {
                view.servers.insert(server.to_owned(), s);
            }
            None => {
                view.servers.remove(server);
            }
        }
        view.tools.insert(server.to_owned(), tools);
        view.items.insert(server.to_owned(), items);
    }

    /// Applies decisions other processes wrote to the store (the CLI without
    /// a running gateway's API, a second gateway): polls `data_version`.
    pub(crate) async fn follow_store(&self) {
        let mut last = self.inner.store.data_version().ok();
        loop {
            tokio::select! {
                () = self.inner.life.cancel.cancelled() => return,
                () = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
            }
            let now = self.inner.store.data_version().ok();
            if now == last {
                continue;
            }
            last = now;
            // A client token made or removed by another process (the CLI).
            self.inner.clients.tokens.reload(&self.inner.store);
            for handle in self.upstream_handles() {
                let name = handle.name().to_owned();
                let before = self.cached_server_state(&name);
                self.refresh_trust(&name);
                let after = self.cached_server_state(&name);
                if before != after {
                    tracing::info!(server = name, "its approval changed elsewhere; applying it");
                    self.restart_upstream(&name).await;
                }
                self.reindex(&name).await;
            }
            super::events::rebuild_tools(self);
        }
    }

    /// Whether a tool may be called now, and if not, why.
    pub fn callability(&self, server: &str, tool: &str) -> Callability {
        self.inner.trust.read().callability(server, tool)
    }

    /// A tool's approval state: `Pending` for one never seen, `Blocked` for
    /// every tool of a blocked server.
    pub fn tool_state(&self, server: &str, tool: &str) -> ToolState {
        let view = self.inner.trust.read();
        match view.servers.get(server) {
            Some(ServerState::Blocked) => ToolState::Blocked,
            _ => view.tool_state(server, tool).unwrap_or(ToolState::Pending),
        }
    }

    /// Records what an upstream lists now; tells people about new and changed
    /// tools; updates the index and the merged list.
    pub(crate) async fn observe_tools(&self, server: &str) {
        let Some(handle) = self.upstream(server) else {
            return;
        };
        let tools = handle.tools();
        let listing = tools.clone();
        let values: Vec<serde_json::Value> = tools.iter().map(|t| t.to_value()).collect();
        let store = self.inner.store.clone();
        let name = server.to_owned();
        let statuses =
            tokio::task::spawn_blocking(move || store.observe_tools(&name, &values)).await;
        let statuses: Vec<ToolStatus> = match statuses {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::error!(server, "recording the tool list failed: {e}");
                Vec::new()
            }
            Err(e) => {
                tracing::error!(server, "recording the tool list failed: {e}");
                Vec::new()
            }
        };
        self.refresh_trust(server);
        self.inner
            .trust
            .write()
            .observed
            .insert(server.to_owned(), listing);
        let pending: Vec<String> = statuses
            .iter()
            .filter(|s| {
                s.present && s.state == ToolState::Pending && (s.is_new() || s.state_changed())
            })
            .map(|s| s.name.clone())
            .collect();
        let changed: Vec<String> = statuses
            .iter()
            .filter(|s| s.present && s.state == ToolState::Changed && s.state_changed())
            .map(|s| s.name.clone())
            .collect();
        // A definition waiting for a person changed under their eyes: whoever
        // shows it must show the new one (an approval of the old is refused).
        let redefined: Vec<String> = statuses
            .iter()
            .filter(|s| {
                s.present
                    && s.definition_changed
                    && !s.state_changed()
                    && matches!(s.state, ToolState::Pending | ToolState::Changed)
            })
            .map(|s| s.name.clone())
            .collect();
        if !redefined.is_empty() {
            self.emit(GatewayEvent::PendingRedefined {
                server: server.to_owned(),
                tools: redefined,
            });
        }
        if !pending.is_empty() {
            self.emit(GatewayEvent::ToolsPending {
                server: server.to_owned(),
                tools: pending,
            });
        }
        if !changed.is_empty() {
            self.emit(GatewayEvent::ToolsModified {
                server: server.to_owned(),
                tools: changed,
            });
        }
        self.reindex(server).await;
    }

    /// Whether the store has recorded the listing `handle` has now.
    fn observed_now(&self, handle: &crate::upstream::UpstreamHandle) -> bool {
        let view = self.inner.trust.read();
        view.observed
            .get(handle.name())
            .is_some_and(|seen| Arc::ptr_eq(seen, &handle.tools()))
    }

    /// The server's state as the trust cache has it.
    fn cached_server_state(&self, server: &str) -> Option<ServerState> {
        self.inner.trust.read().servers.get(server).copied()
    }

    /// Puts decided states into the cache without reading the server's other tools back.
    fn note_tool_states(&self, server: &str, statuses: &[ToolStatus]) {
        let mut view = self.inner.trust.write();
        let tools = view.tools.entry(server.to_owned()).or_default();
        for s in statuses.iter().filter(|s| s.present) {
            tools.insert(s.name.clone(), s.state);
        }
    }

    /// Re-indexes the decided tools of a server with their new states.
    async fn reindex_tools(&self, server: &str, statuses: &[ToolStatus]) {
        let Some(handle) = self.upstream(server) else {
            return;
        };
        let listed = handle.tools();
        let decided: std::collections::HashSet<&str> =
            statuses.iter().map(|s| s.name.as_str()).collect();
        let docs: Vec<ToolDoc> = listed
            .iter()
            .filter(|t| decided.contains(t.name.as_str()))
            .map(|t| self.tool_doc(server, t))
            .collect();
        if docs.is_empty() {
            return;
        }
        self.update_index(server, move |index, name| index.replace_tools(name, &docs))
            .await;
    }

    fn tool_doc(&self, server: &str, t: &crate::upstream::Tool) -> ToolDoc {
        ToolDoc {
            server: server.to_owned(),
            name: t.name.clone(),
            title: t.field("title").and_then(|v| v.as_str().map(str::to_owned)),
            description: t.description(),
            input_schema: t.field("inputSchema").unwrap_or(serde_json::Value::Null),
            state: self.tool_state(server, &t.name).to_string(),
        }
    }

    /// Puts a server's tools (with their states) into the search index.
    pub(crate) async fn reindex(&self, server: &str) {
        let Some(handle) = self.upstream(server) else {
            return;
        };
        let tools = handle.tools();
        if tools.is_empty() && !handle.is_connected() {
            // Not connected: keep what the index knows from earlier runs, with fresh states.
            let docs: Vec<ToolDoc> = self
                .inner
                .upstreams
                .index
                .all()
                .unwrap_or_default()
                .into_iter()
                .filter(|d| d.server == server)
                .map(|mut d| {
                    d.state = self.tool_state(server, &d.name).to_string();
                    d
                })
                .collect();
            self.index_docs(server, docs).await;
            return;
        }
        let docs: Vec<ToolDoc> = tools.iter().map(|t| self.tool_doc(server, t)).collect();
        self.index_docs(server, docs).await;
    }

    async fn index_docs(&self, server: &str, docs: Vec<ToolDoc>) {
        self.update_index(server, move |index, name| index.replace_server(name, &docs))
            .await;
    }

    /// Runs one change of `server`'s search documents off the runtime; a
    /// failure is logged (search then shows what it had).
    async fn update_index<E: std::fmt::Display + Send + 'static>(
        &self,
        server: &str,
        change: impl FnOnce(&crate::search::SearchIndex, &str) -> Result<(), E> + Send + 'static,
    ) {
        let index = self.inner.upstreams.index.clone();
        let name = server.to_owned();
        match tokio::task::spawn_blocking(move || change(&index, &name)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(server, "updating the search index failed: {e}"),
            Err(e) => tracing::error!(server, "updating the search index failed: {e}"),
        }
    }

    /// Approves a server: it is started and its approved tools become callable.
    pub async fn approve_server(&self, name: &str, actor: Actor) -> Result<Decision, GatewayError> {
        self.decide_server(name, ServerState::Trusted, actor).await
    }

    /// Blocks a server: it is stopped and none of its tools can be called.
    pub async fn block_server(&self, name: &str, actor: Actor) -> Result<Decision, GatewayError> {
        self.decide_server(name, ServerState::Blocked, actor).await
    }

    async fn decide_server(
        &self,
        name: &str,
        state: ServerState,
        actor: Actor,
    ) -> Result<Decision, GatewayError> {
        if self.upstream(name).is_none() {
            return Err(GatewayError::UnknownServer {
                name: name.to_owned(),
            });
        }
        let info = self
            .inner
            .store
            .set_server_state(name, state, actor)
            .map_err(store_err)?;
        self.refresh_trust(name);
        self.restart_upstream(name).await;
        super::events::rebuild_tools(self);
        self.reindex(name).await;
        Ok(Decision {
            server: name.to_owned(),
            server_state: info.state,
            tools: Vec::new(),
        })
    }

    /// Approves the tool definitions a person reviewed (the server too, if
    /// it was pending). Each names the hash of the definition the person
    /// was shown; if the server lists another definition of any of them by
    /// now, nothing is approved and the error carries the new definitions
    /// (with their diff and findings) to show instead. A definition with a
    /// high-severity finding needs `confirm` ([`HighFindings::Confirmed`]);
    /// without it nothing is approved.
    pub async fn approve_tools(
        &self,
        server: &str,
        reviewed: &[Reviewed],
        confirm: HighFindings,
        actor: Actor,
    ) -> Result<Decision, GatewayError> {
        if reviewed.is_empty() {
            return Err(GatewayError::InvalidParams(format!(
                "approve names no tool of `{server}`: name each tool with the hash of the definition you reviewed"
            )));
        }
        self.decide_tools(server, Choice::Approve(reviewed, confirm), actor)
            .await
    }

    /// Blocks tools of a server.
    pub async fn block_tools(
        &self,
        server: &str,
        selection: &ToolSelection,
        actor: Actor,
    ) -> Result<Decision, GatewayError> {
        self.decide_tools(server, Choice::Block(selection), actor)
            .await
    }

    async fn decide_tools(
        &self,
        server: &str,
        choice: Choice<'_>,
        actor: Actor,
    ) -> Result<Decision, GatewayError> {
        if self.upstream(server).is_none() {
            return Err(GatewayError::UnknownServer {
                name: server.to_owned(),
            });
        }
        // Decide on what the server lists now (recorded already, unless it listed
        // something new a moment ago).
        if self.upstream(server).is_some_and(|h| {
            h.status().state == crate::upstream::UpstreamState::Ready && !self.observed_now(&h)
        }) {
            self.observe_tools(server).await;
        }
        let store = &self.inner.store;
        let decided = match choice {
            Choice::Approve(reviewed, confirm) => store
                .approve_reviewed(server, reviewed, confirm, actor)
                .map(|a| (a.tools, a.server_trusted)),
            Choice::Block(selection) => store
                .block_tools(server, selection, actor)
                .map(|t| (t, false)),
        };
        let (statuses, server_trusted) = match decided {
            Ok(d) => d,
            Err(StoreError::ChangedSinceShown { server, changed }) => {
                let names: Vec<String> = changed.iter().map(|c| c.name.clone()).collect();
                let current = names
                    .iter()
                    .filter_map(|n| self.tool_detail(&server, n).ok())
                    .collect();
                return Err(GatewayError::ChangedSinceShown {
                    server,
                    tools: names,
                    current,
                });
            }
            Err(e) => return Err(store_err(e)),
        };
        let server_state = store
            .server(server)
            .ok()
            .flatten()
            .map_or(ServerState::Pending, |s| s.state);
        if server_trusted {
            // The approval approved the server too (the store's rule): start it.
            self.refresh_trust(server);
            self.restart_upstream(server).await;
            self.refresh_trust(server);
            super::events::rebuild_tools(self);
            self.reindex(server).await;
        } else {
            // Only the decided tools changed: the cost follows them, not the server's tool count.
            self.note_tool_states(server, &statuses);
            let decided: Vec<&str> = statuses.iter().map(|s| s.name.as_str()).collect();
            super::events::retable_decided(self, server, &decided);
            self.reindex_tools(server, &statuses).await;
        }
        Ok(Decision {
            server: server.to_owned(),
            server_state,
            tools: statuses.into_iter().map(|s| (s.name, s.state)).collect(),
        })
    }

    /// Tools waiting for a person: new ones and changed ones, with findings.
    pub fn pending_tools(&self) -> Result<Vec<PendingTool>, GatewayError> {
        self.inner.store.pending_tools().map_err(store_err)
    }

    /// Everything a person needs to decide on one tool: its definition (as
    /// the server lists it now, else as last indexed), state, findings and,
    /// for a changed tool, the approved definition.
    pub fn tool_detail(&self, server: &str, tool: &str) -> Result<ToolDetail, GatewayError> {
        if self.upstream(server).is_none() {
            return Err(GatewayError::UnknownServer {
                name: server.to_owned(),
            });
        }
        let unknown = || GatewayError::UnknownTool {
            name: format!("{server}/{tool}"),
        };
        let live = self.upstream(server).and_then(|h| {
            h.tools()
                .iter()
                .find(|t| t.name == tool)
                .map(|t| t.to_value())
        });
        let definition = match live {
            Some(d) => d,
            None => {
                let doc = self
                    .inner
                    .upstreams
                    .index
                    .all()
                    .unwrap_or_default()
                    .into_iter()
                    .find(|d| d.server == server && d.name == tool)
                    .ok_or_else(unknown)?;
                let mut d = serde_json::json!({ "name": doc.name, "description": doc.description, "inputSchema": doc.input_schema });
                if let Some(title) = doc.title {
                    d["title"] = title.into();
                }
                d
            }
        };
        let signature = crate::search::signature(
            definition
                .get("inputSchema")
                .unwrap_or(&serde_json::Value::Null),
        );
        let hash = crate::trust::definition_hash(&definition);
        let entry = self
            .table()
            .entries()
            .iter()
            .find(|e| e.server == server && e.tool.name == tool)
            .map(|e| e.name.clone());
        Ok(ToolDetail {
            server: server.to_owned(),
            name: tool.to_owned(),
            downstream_name: entry,
            state: self.tool_state(server, tool),
            callable: self.callability(server, tool) == Callability::Callable,
            signature,
            hash,
            definition,
            approved: self
                .inner
                .store
                .tool_diff(server, tool)
                .ok()
                .flatten()
                .map(|d| d.approved),
            findings: self.inner.store.findings(server, tool).unwrap_or_default(),
        })
    }

    /// The approved and current definitions of a tool, by server and upstream name.
    pub fn tool_diff(&self, server: &str, tool: &str) -> Result<Option<ToolDiff>, GatewayError> {
        self.inner.store.tool_diff(server, tool).map_err(store_err)
    }

    /// The activity log.
    pub fn activity(&self, query: &ActivityQuery) -> Result<Vec<ActivityEntry>, GatewayError> {
        self.inner.store.activity(query).map_err(store_err)
    }

    /// Searches every tool (quarantined ones too), as agents do.
    pub async fn search(
        &self,
        query: &str,
        opts: crate::search::SearchOptions,
    ) -> Result<Vec<crate::search::SearchHit>, GatewayError> {
        let index = self.inner.upstreams.index.clone();
        let query = query.to_owned();
        let started = std::time::Instant::now();
        let hits = tokio::task::spawn_blocking(move || index.search(&query, &opts))
            .await
            .map_err(|source| GatewayError::TaskFailed {
                what: "the search",
                source,
            })?
            .map_err(GatewayError::Search);
        self.inner.observe.metrics.search(started.elapsed());
        hits
    }

    /// The store (for front ends that show more of it).
    pub fn store(&self) -> Arc<crate::store::Store> {
        self.inner.store.clone()
    }
}

/// What a server's approval is tied to besides its name: what it runs, or
/// where it connects. A config edit that changes it needs a new approval.
pub(super) fn launch_fingerprint(server: &crate::config::ServerSettings) -> String {
    let value = match &server.transport {
        crate::config::TransportSettings::Stdio {
            command,
            args,
            env,
            cwd,
        } => {
            let mut launch =
                serde_json::json!({ "command": command, "args": args, "env": env, "cwd": cwd });
            // Only for isolated servers, so approvals of the others stay valid;
            // leaving or loosening the container needs a new approval.
            if let crate::config::Isolation::Docker(d) = &server.isolation {
                let mounts: Vec<String> = d
                    .mounts
                    .iter()
                    .map(crate::config::MountSpec::to_spec)
                    .collect();
                launch["isolation"] = serde_json::json!({ "docker": { "image": d.image, "network": d.network.fingerprint(), "mounts": mounts, "memory": d.memory, "cpus": d.cpus, "pids": d.pids } });
            }
            if let crate::config::Isolation::Sandbox(b) = &server.isolation {
                let mounts: Vec<String> = b
                    .mounts
                    .iter()
                    .map(crate::config::MountSpec::to_spec)
                    .collect();
                launch["isolation"] = serde_json::json!({ "sandbox": { "network": b.network.fingerprint(), "mounts": mounts, "memory": b.memory, "pids": b.pids } });
            }
            launch
        }
        crate::config::TransportSettings::Http { url, headers, .. } => {
            serde_json::json!({ "url": url, "headers": headers, "transport": server.transport.label() })
        }
    };
    // Only when set, so approvals of other servers stay valid: letting
    // clients send methods outside MCP to a server needs a new approval.
    let mut value = value;
    if !server.passthrough.is_empty() {
        value["passthrough"] = serde_json::json!(server.passthrough);
    }
    crate::trust::launch_hash(&value)
}

#[cfg(test)]
mod tests {
    use super::launch_fingerprint;
    use crate::config::{ConfigFile, Overrides, Settings};

    fn fingerprint(table: &str) -> String {
        let path = std::path::Path::new("t.toml");
        let text = format!("[servers.s]\ncommand = \"/usr/bin/srv\"\n{table}");
        let file = ConfigFile::parse(&text, path).unwrap();
        let overrides = Overrides {
            listen: Some("127.0.0.1:0".into()),
        };
        let settings = Settings::resolve(&file, &overrides, path).unwrap();
        launch_fingerprint(&settings.servers["s"])
    }

    /// Leaving or loosening a sandbox or a container needs a new approval;
    /// a plain server's approval does not depend on isolation settings.
    #[test]
    fn isolation_is_part_of_the_approval_fingerprint() {
        let plain = fingerprint("");
        let sandboxed = fingerprint("isolation = \"sandbox\"\n");
        let networked = fingerprint("isolation = \"sandbox\"\nnetwork = true\n");
        let docker = fingerprint("isolation = \"docker\"\nimage = \"debian:bookworm-slim\"\n");
        assert_ne!(plain, sandboxed);
        assert_ne!(sandboxed, networked);
        assert_ne!(sandboxed, docker);
        assert_eq!(plain, fingerprint("isolation = \"none\"\n"));
        // An allow list is part of it: another host needs a new approval,
        // the same hosts written differently do not.
        let github = fingerprint("isolation = \"sandbox\"\nnetwork = [\"api.github.com\"]\n");
        let slack = fingerprint(
            "isolation = \"sandbox\"\nnetwork = [\"api.github.com\", \"*.slack.com\"]\n",
        );
        assert_ne!(github, sandboxed);
        assert_ne!(github, networked);
        assert_ne!(github, slack);
        assert_eq!(
            github,
            fingerprint("isolation = \"sandbox\"\nnetwork = [\"API.github.com:443\"]\n")
        );
        let docker_github = fingerprint("isolation = \"docker\"\nimage = \"debian:bookworm-slim\"\nnetwork = [\"api.github.com\"]\n");
        assert_ne!(docker, docker_github);
    }
}
