//! Log levels when many clients share one upstream.
//!
//! Each session keeps the level it asked for with `logging/setLevel`. An
//! upstream is set to the most verbose level any connected session asked for
//! (it serves them all on one connection). Each `notifications/message` goes
//! to one place: while calls are in flight on that upstream, to the session
//! of the most recent one (on that call's own stream when it has one), as the
//! message most likely belongs to it; otherwise to the sessions that asked
//! for log messages with `logging/setLevel`. Either way only where the
//! message meets the session's own level. A session that never set a level
//! hears the messages of its own calls only, so one upstream's chatter is
//! never copied into every client's queue. A 2026-07-28 request opts in per
//! request with `_meta["io.modelcontextprotocol/logLevel"]`; without it no
//! log message reaches that request.

use serde_json::{json, Value};

use super::{Gateway, Session};
use crate::protocol::{to_raw, Message};

/// Syslog severities, least severe first (RFC 5424 order reversed).
const LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

/// The threshold of a stateless-era request that did not opt in: nothing passes.
pub(super) const NONE: &str = "off";

/// The rank of a level name; unknown names rank as `debug`, so they are never hidden.
pub(super) fn rank(level: &str) -> usize {
    if level == NONE {
        return LEVELS.len();
    }
    LEVELS.iter().position(|l| *l == level).unwrap_or(0)
}

/// Whether a message at `level` passes a threshold.
pub(super) fn passes(level: &str, threshold: Option<&str>) -> bool {
    threshold.is_none_or(|t| rank(level) >= rank(t))
}

/// The level of a `notifications/message`.
pub(super) fn level_of(msg: &Message) -> String {
    msg.params_as::<Value>()
        .ok()
        .flatten()
        .and_then(|p| p.get("level").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default()
}

/// `logging/setLevel` from a session: remembers it and sets upstreams to the most verbose level wanted.
pub(super) async fn set_level(
    gw: &Gateway,
    session: &Session,
    params: Option<&serde_json::value::RawValue>,
) -> Result<(), super::GatewayError> {
    let level = params
        .and_then(|p| serde_json::from_str::<Value>(p.get()).ok())
        .and_then(|p| p.get("level").and_then(Value::as_str).map(str::to_owned))
        .filter(|l| LEVELS.contains(&l.as_str()))
        .ok_or_else(|| {
            super::GatewayError::InvalidParams(format!(
                "logging/setLevel needs `level`, one of {}",
                LEVELS.join(", ")
            ))
        })?;
    *session.log_level.lock() = Some(level);
    apply(gw).await;
    Ok(())
}

/// The most verbose level any session asked for.
fn wanted(gw: &Gateway) -> Option<String> {
    gw.inner
        .clients
        .sessions
        .all()
        .iter()
        .filter_map(|s| s.log_level.lock().clone())
        .filter(|l| l != NONE)
        .min_by_key(|l| rank(l))
}

/// Sets every upstream that logs to the level the sessions want, when it differs from what it was told last.
pub(super) async fn apply(gw: &Gateway) {
    let Some(level) = wanted(gw) else { return };
    for h in gw.upstream_handles() {
        // A stateless upstream has no logging/setLevel: each request says its level.
        if h.info().capabilities.get("logging").is_none()
            || h.status().state != crate::upstream::UpstreamState::Ready
            || h.is_stateless()
        {
            continue;
        }
        if h.log_level().as_deref() == Some(level.as_str()) {
            continue;
        }
        match h
            .request("logging/setLevel", Some(to_raw(&json!({ "level": level }))))
            .await
        {
            Ok(resp) if resp.error.is_none() => h.set_log_level(Some(level.clone())),
            Ok(resp) => tracing::debug!(
                server = h.name(),
                "logging/setLevel refused: {}",
                resp.error.as_ref().map_or("", |e| e.get())
            ),
            Err(e) => tracing::debug!(server = h.name(), "logging/setLevel: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert!(passes("error", Some("warning")));
        assert!(!passes("info", Some("warning")));
        assert!(passes("debug", None));
        assert!(passes("emergency", Some("emergency")));
        assert_eq!(rank("nonsense"), 0);
        assert!(!passes("emergency", Some(NONE)));
    }
}
