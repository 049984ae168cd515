//! Tool calls go to the activity log in batches, off the hot path: a call
//! only queues its record; one task writes what has queued in a single
//! transaction and prunes the log by age and row count now and then.
//! Identical calls of one batch (an agent looping on a tool) become one row
//! that counts them, so a burst costs one insert and cannot flush the log.
//! `record_call` is where a finished call becomes its record, its metrics
//! and its event for the UI.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{Gateway, GatewayError, GatewayEvent, Session};
use crate::protocol::Message;
use crate::store::{CallOutcome, CallRecord, UnixMillis};

/// At most this many rows stay in the log.
const MAX_ROWS: usize = 100_000;
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How long a batch gathers calls after its first one.
const GATHER: Duration = Duration::from_millis(200);
/// The most calls in one transaction.
const MAX_BATCH: usize = 1024;

pub(super) async fn write_calls(gw: Gateway, mut rx: mpsc::Receiver<CallRecord>) {
    let mut last_prune = Instant::now() - PRUNE_EVERY;
    loop {
        let first = tokio::select! {
            r = rx.recv() => r,
            () = gw.inner.life.cancel.cancelled() => None,
        };
        let mut batch: Vec<CallRecord> = first.into_iter().collect();
        // Gather what arrives in the next moment: one transaction for a burst.
        if !batch.is_empty() {
            let until = tokio::time::Instant::now() + GATHER;
            while batch.len() < MAX_BATCH {
                tokio::select! {
                    r = rx.recv() => match r {
                        Some(r) => batch.push(r),
                        None => break,
                    },
                    () = tokio::time::sleep_until(until) => break,
                    () = gw.inner.life.cancel.cancelled() => break,
                }
            }
        }
        let done = batch.is_empty();
        let store = gw.inner.store.clone();
        let prune = last_prune.elapsed() >= PRUNE_EVERY;
        // Calls older than the configured retention leave the log (read each
        // time: a change in Settings applies at the next prune).
        let max_age = gw.settings().activity_retention;
        if prune {
            last_prune = Instant::now();
        }
        let result = tokio::task::spawn_blocking(move || {
            if !batch.is_empty() {
                store.record_calls(&crate::store::coalesce(batch))?;
            }
            if prune {
                store.prune(max_age, MAX_ROWS)?;
            }
            Ok::<_, crate::store::StoreError>(())
        })
        .await;
        if let Ok(Err(e)) = result {
            tracing::warn!("writing the activity log failed: {e}");
        }
        if done {
            return;
        }
    }
}

/// The activity log's record of a connection an isolated server's egress
/// proxy refused: a blocked call of that server whose tool is
/// `egress HOST:PORT`, so the log shows which server asked for which host.
pub(super) fn record_egress_refusal(gw: &Gateway, refusal: crate::isolation::EgressRefusal) {
    let host = if refusal.host.contains(':') {
        format!("[{}]", refusal.host)
    } else {
        refusal.host
    };
    let tool = format!("{EGRESS_TOOL_PREFIX}{host}:{}", refusal.port);
    if gw.inner.bus.call_events.receiver_count() > 0 {
        gw.emit(GatewayEvent::CallFinished {
            server: refusal.server.clone(),
            tool: tool.clone(),
            outcome: "blocked".to_owned(),
            duration_ms: 0,
        });
    }
    let record = CallRecord {
        time: UnixMillis::now(),
        session: EGRESS_SESSION.to_owned(),
        client_name: None,
        client_version: None,
        client: None,
        server: refusal.server,
        tool,
        duration_ms: 0,
        outcome: CallOutcome::Blocked,
        request_bytes: 0,
        response_bytes: 0,
        calls: 1,
    };
    if gw.inner.bus.calls.try_send(record).is_err() {
        tracing::warn!("the activity log is behind; an egress refusal was not recorded");
    }
}

/// The session an egress refusal is recorded under: no client made it.
const EGRESS_SESSION: &str = "egress-proxy";
/// How the tool of an egress refusal's record begins.
const EGRESS_TOOL_PREFIX: &str = "egress ";

/// Queues the call for the activity log and tells the UI.
pub(super) fn record_call(
    gw: &Gateway,
    session: &Session,
    server: &str,
    tool: &str,
    started: std::time::Instant,
    request_bytes: u64,
    result: &Result<Message, GatewayError>,
) {
    let duration_ms = started.elapsed().as_millis() as u64;
    let (outcome, response_bytes) = match result {
        Ok(m) if m.error.is_some() => (
            CallOutcome::Error(
                m.error
                    .as_ref()
                    .map_or(String::new(), |e| e.get().chars().take(500).collect()),
            ),
            m.error.as_ref().map_or(0, |e| e.get().len()),
        ),
        Ok(m) => (
            CallOutcome::Ok,
            m.result.as_ref().map_or(0, |r| r.get().len()),
        ),
        Err(GatewayError::NotCallable { .. }) => (CallOutcome::Blocked, 0),
        Err(e) => (
            CallOutcome::Error(e.to_string().chars().take(500).collect()),
            0,
        ),
    };
    let label = match &outcome {
        CallOutcome::Ok => "ok",
        CallOutcome::Blocked => "blocked",
        _ => "error",
    };
    if gw.inner.bus.call_events.receiver_count() > 0 {
        gw.emit(GatewayEvent::CallFinished {
            server: server.to_owned(),
            tool: tool.to_owned(),
            outcome: label.to_owned(),
            duration_ms,
        });
    }
    // Only the name and version: a copy of the whole ClientInfo (its capabilities) per call is not free.
    let (client_name, client_version) = {
        let client = session.client.read();
        (
            (!client.name.is_empty()).then(|| client.name.clone()),
            (!client.version.is_empty()).then(|| client.version.clone()),
        )
    };
    let record = CallRecord {
        time: UnixMillis::now(),
        session: session.id().to_owned(),
        client_name,
        client_version,
        client: session.caller().map(str::to_owned),
        server: server.to_owned(),
        tool: tool.to_owned(),
        duration_ms,
        outcome,
        request_bytes,
        response_bytes: response_bytes as u64,
        calls: 1,
    };
    gw.inner.observe.metrics.call(
        &record.server,
        &record.tool,
        &record.outcome,
        record.duration_ms,
    );
    if let Some(client) = &record.client {
        gw.inner
            .observe
            .metrics
            .client_call(client, &record.outcome);
    }
    if gw.inner.bus.calls.try_send(record).is_err() {
        tracing::warn!("the activity log is behind; a call was not recorded");
    }
}
