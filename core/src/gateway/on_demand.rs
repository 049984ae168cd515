//! `start = "on-demand"`: a server whose tools are known and approved is
//! not started with the gateway. What it listed when it last ran is kept in
//! `<data>/tools/<server>.json`, every member as received, so `tools/list`
//! and search serve it while it sleeps; the first call that needs it starts
//! it, waits until it is ready (telling a client that asked for progress
//! that it is starting, each second), and is refused with the usual hint
//! when the server now lists that tool differently from what was approved.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use tokio::sync::mpsc;

use super::{Gateway, GatewayError, Session};
use crate::config::{Paths, StartMode};
use crate::protocol::Message;
use crate::upstream::{Tool, UpstreamHandle, UpstreamState, START_WAIT};

/// A call to an on-demand server that sleeps (or is starting): start it,
/// wait, and check the tool again, since the server may now list it
/// differently from what was approved (it is then held, and the call refused).
pub(super) async fn before_call(
    gw: &Gateway,
    session: &Arc<Session>,
    target: &crate::protocol::ToolName,
    name: &str,
    msg: &Message,
    related: Option<&mpsc::Sender<Message>>,
    trace: Option<&crate::telemetry::CallSpan>,
) -> Result<(), GatewayError> {
    let Some(upstream) = gw.upstream(&target.server) else {
        return Ok(());
    };
    // Servers that sleep: on demand, or stopped for idleness.
    let settings = upstream.settings();
    let sleeps =
        settings.start == crate::config::StartMode::OnDemand || settings.idle_stop.is_some();
    match upstream.status().state {
        UpstreamState::Idle => {}
        UpstreamState::Starting if sleeps => {}
        _ => return Ok(()),
    }
    let token = progress_token(msg);
    let starting = trace.and_then(|t| gw.inner.observe.telemetry.start_span(t, &target.server));
    wake(session, &upstream, token.as_ref(), related).await;
    if let Some(span) = starting {
        span.finish(crate::telemetry::Outcome::Ok);
    }
    let callability = gw.callability(&target.server, &target.tool);
    if callability.is_callable() {
        return Ok(());
    }
    Err(GatewayError::not_callable(
        name,
        &callability,
        &target.server,
        &target.tool,
    ))
}

/// A client that asked for progress hears from a slow start this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

fn cache_file(paths: &Paths, server: &str) -> PathBuf {
    paths.data.join("tools").join(format!("{server}.json"))
}

/// What `server` listed when it last ran, if it ever did.
pub(super) fn cached_tools(paths: &Paths, server: &str) -> Option<Vec<Tool>> {
    let text = std::fs::read_to_string(cache_file(paths, server)).ok()?;
    let raw: Vec<Box<RawValue>> = serde_json::from_str(&text).ok()?;
    Some(raw.iter().filter_map(|t| Tool::from_raw(t)).collect())
}

/// Keeps what an on-demand server lists now, for when it sleeps.
pub(super) fn remember_tools(gw: &Gateway, server: &str) {
    let Some(h) = gw.upstream(server) else { return };
    if h.settings().start != StartMode::OnDemand || h.status().state == UpstreamState::Idle {
        return;
    }
    let tools: Vec<_> = h.tools().iter().map(|t| t.fields.clone()).collect();
    let path = cache_file(&gw.inner.paths, server);
    let written = serde_json::to_vec(&tools)
        .map_err(std::io::Error::other)
        .and_then(|bytes| {
            crate::config::private_files::private_dir(
                path.parent().unwrap_or(&gw.inner.paths.data),
            )?;
            crate::config::private_files::write_atomic(&path, &bytes)
        });
    if let Err(e) = written {
        tracing::warn!(
            server,
            "keeping its tool list for on-demand starts failed: {e}"
        );
    }
}

/// Starts `upstream` if it sleeps and waits while it starts. A client that
/// gave `progress` hears each second that it is starting.
pub(super) async fn wake(
    session: &Arc<Session>,
    upstream: &UpstreamHandle,
    progress: Option<&serde_json::Value>,
    related: Option<&mpsc::Sender<Message>>,
) {
    upstream.wake();
    let mut status = upstream.subscribe_status();
    let started = tokio::time::Instant::now();
    let mut ticks = 0u32;
    loop {
        let wait = tokio::time::sleep(PROGRESS_EVERY);
        tokio::select! {
            _ = status.wait_for(|s| s.state != UpstreamState::Starting) => return,
            () = wait => {
                ticks += 1;
                if let Some(token) = progress {
                    let note = serde_json::json!({
                        "progressToken": token,
                        "progress": ticks,
                        "message": format!("starting `{}` (on demand)", upstream.name()),
                    });
                    let msg = Message::notification("notifications/progress", Some(crate::protocol::to_raw(&note)));
                    session.push(msg, related);
                }
                if started.elapsed() > START_WAIT {
                    return; // the call then fails with why it is not ready
                }
            }
        }
    }
}

/// The client's progress token of `msg`, if it gave one.
pub(super) fn progress_token(msg: &Message) -> Option<serde_json::Value> {
    let params: serde_json::Value = serde_json::from_str(msg.params.as_ref()?.get()).ok()?;
    params.get("_meta")?.get("progressToken").cloned()
}
