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
use crate::protocol::{to_raw, LogLevel, Message};

/// Which log messages a session hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Threshold {
    /// Messages at this level or more severe.
    From(LogLevel),
    /// None: a stateless-era request that did not opt in.
    Off,
}

/// Whether a message at `level` passes a session's threshold (`None`: the
/// session never set one, and hears its own calls' messages).
pub(super) fn passes(level: LogLevel, threshold: Option<Threshold>) -> bool {
    match threshold {
        None => true,
        Some(Threshold::Off) => false,
        Some(Threshold::From(t)) => level >= t,
    }
}

/// The level of a `notifications/message`; a level MCP does not name counts
/// as `debug`, so it is never hidden.
pub(super) fn level_of(msg: &Message) -> LogLevel {
    msg.params_as::<Value>()
        .ok()
        .flatten()
        .and_then(|p| {
            p.get("level")
                .and_then(Value::as_str)
                .and_then(LogLevel::parse)
        })
        .unwrap_or(LogLevel::Debug)
}

/// The threshold a stateless-era request asks for in its `_meta`: none
/// without an opt-in; an unknown name as `debug`, so nothing is hidden.
pub(super) fn requested(level: Option<&str>) -> Threshold {
    level.map_or(Threshold::Off, |l| {
        Threshold::From(LogLevel::parse(l).unwrap_or(LogLevel::Debug))
    })
}

/// `logging/setLevel` from a session: remembers it and sets upstreams to the most verbose level wanted.
pub(super) async fn set_level(
    gw: &Gateway,
    session: &Session,
    params: Option<&serde_json::value::RawValue>,
) -> Result<(), super::GatewayError> {
    let level = params
        .and_then(|p| serde_json::from_str::<Value>(p.get()).ok())
        .and_then(|p| {
            p.get("level")
                .and_then(Value::as_str)
                .and_then(LogLevel::parse)
        })
        .ok_or_else(|| {
            let names: Vec<&str> = LogLevel::ALL.iter().map(|l| l.as_str()).collect();
            super::GatewayError::InvalidParams(format!(
                "logging/setLevel needs `level`, one of {}",
                names.join(", ")
            ))
        })?;
    *session.log_level.lock() = Some(Threshold::From(level));
    apply(gw).await;
    Ok(())
}

/// The most verbose level any session asked for.
fn wanted(gw: &Gateway) -> Option<LogLevel> {
    gw.inner
        .clients
        .sessions
        .all()
        .iter()
        .filter_map(|s| match *s.log_level.lock() {
            Some(Threshold::From(level)) => Some(level),
            _ => None,
        })
        .min()
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
        if h.log_level() == Some(level) {
            continue;
        }
        match h
            .request(
                "logging/setLevel",
                Some(to_raw(&json!({ "level": level.as_str() }))),
            )
            .await
        {
            Ok(resp) if resp.error.is_none() => h.set_log_level(Some(level)),
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
        let from = |l| Some(Threshold::From(l));
        assert!(passes(LogLevel::Error, from(LogLevel::Warning)));
        assert!(!passes(LogLevel::Info, from(LogLevel::Warning)));
        assert!(passes(LogLevel::Debug, None));
        assert!(passes(LogLevel::Emergency, from(LogLevel::Emergency)));
        assert!(!passes(LogLevel::Emergency, Some(Threshold::Off)));
        let msg = |level: &str| {
            Message::notification(
                "notifications/message",
                Some(to_raw(&json!({ "level": level, "data": "x" }))),
            )
        };
        assert_eq!(level_of(&msg("nonsense")), LogLevel::Debug);
        assert_eq!(level_of(&msg("alert")), LogLevel::Alert);
        assert_eq!(requested(None), Threshold::Off);
        assert_eq!(requested(Some("loud")), Threshold::From(LogLevel::Debug));
    }
}
