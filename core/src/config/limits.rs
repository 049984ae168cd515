//! `[limits]`: how much of the machine an outside party (a client on the
//! MCP endpoint, a web page, an upstream) may make the gateway hold.
//!
//! Every bound on input from outside lives here with its default, so a person
//! can read in one table what the gateway refuses and raise what they need.
//! The defaults are sized for one person's workstation with a few agents.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[limits]` as written; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Most messages in one JSON-RPC batch. Default 64.
    pub max_batch: Option<usize>,
    /// How many requests of one batch run at the same time. Default 8.
    pub batch_concurrency: Option<usize>,
    /// Seconds a client has to send a request's complete headers, counted
    /// from when the gateway waits for them: so also how long a keep-alive
    /// connection may sit idle between requests. Default 10.
    pub header_timeout: Option<f64>,
    /// Seconds a client has to send a request's body. Default 30.
    pub body_timeout: Option<f64>,
    /// Most client connections open at once. Default 1024, and always at least
    /// 64 below the process's file-descriptor limit.
    pub max_connections: Option<usize>,
    /// Most client sessions at once; past it the longest-idle session without
    /// an open stream is ended, else the new one is refused. Default 256.
    pub max_sessions: Option<usize>,
    /// Seconds a session may sit idle (no request, no open stream) before it ends. Default 3600.
    pub session_idle: Option<f64>,
    /// Most bytes a session may store about its client (the `initialize`
    /// parameters: capabilities and client info). Default 65536.
    pub max_session_bytes: Option<usize>,
    /// Most bytes of messages waiting for one session's client. Default 8 MiB.
    pub session_queue_bytes: Option<usize>,
    /// Most bytes of messages waiting for all clients together. Default 64 MiB.
    pub queue_bytes: Option<usize>,
}

/// The resolved limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Most messages in one batch.
    pub max_batch: usize,
    /// Requests of one batch running at once.
    pub batch_concurrency: usize,
    /// Time to send the headers, idle time between requests included.
    pub header_timeout: Duration,
    /// Time to send the body.
    pub body_timeout: Duration,
    /// Connections open at once (before the file-descriptor cap is applied).
    pub max_connections: usize,
    /// Sessions at once.
    pub max_sessions: usize,
    /// Idle time after which a session ends.
    pub session_idle: Duration,
    /// Bytes a session may store about its client.
    pub max_session_bytes: usize,
    /// Bytes queued for one session's client.
    pub session_queue_bytes: usize,
    /// Bytes queued for all clients together.
    pub queue_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_batch: 64,
            batch_concurrency: 8,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_sessions: 256,
            session_idle: Duration::from_secs(3600),
            max_session_bytes: 64 * 1024,
            session_queue_bytes: 8 << 20,
            queue_bytes: 64 << 20,
        }
    }
}

impl Limits {
    /// Validates `[limits]`; the error is (what is wrong, what to write instead).
    pub(crate) fn resolve(file: &LimitsConfig) -> Result<Self, (String, String)> {
        let d = Self::default();
        let count = |name: &str, value: Option<usize>, default: usize, min: usize| {
            let v = value.unwrap_or(default);
            if v < min {
                Err((
                    format!("[limits] {name} = {v} is too small"),
                    format!("use at least {min}; the default is {default}"),
                ))
            } else {
                Ok(v)
            }
        };
        let secs = |name: &str, value: Option<f64>, default: Duration| match value {
            None => Ok(default),
            Some(v) if v.is_finite() && v > 0.0 && v < 1e7 => Ok(Duration::from_secs_f64(v)),
            Some(v) => Err((
                format!("[limits] {name} = {v} is not a positive number of seconds"),
                format!("e.g. {name} = {}", default.as_secs()),
            )),
        };
        let limits = Self {
            max_batch: count("max_batch", file.max_batch, d.max_batch, 1)?,
            batch_concurrency: count(
                "batch_concurrency",
                file.batch_concurrency,
                d.batch_concurrency,
                1,
            )?,
            header_timeout: secs("header_timeout", file.header_timeout, d.header_timeout)?,
            body_timeout: secs("body_timeout", file.body_timeout, d.body_timeout)?,
            max_connections: count(
                "max_connections",
                file.max_connections,
                d.max_connections,
                8,
            )?,
            max_sessions: count("max_sessions", file.max_sessions, d.max_sessions, 1)?,
            session_idle: secs("session_idle", file.session_idle, d.session_idle)?,
            max_session_bytes: count(
                "max_session_bytes",
                file.max_session_bytes,
                d.max_session_bytes,
                1024,
            )?,
            session_queue_bytes: count(
                "session_queue_bytes",
                file.session_queue_bytes,
                d.session_queue_bytes,
                64 * 1024,
            )?,
            queue_bytes: count("queue_bytes", file.queue_bytes, d.queue_bytes, 64 * 1024)?,
        };
        if limits.queue_bytes < limits.session_queue_bytes {
            return Err((
                format!(
                    "[limits] queue_bytes = {} is smaller than session_queue_bytes = {}",
                    limits.queue_bytes, limits.session_queue_bytes
                ),
                "the budget of all sessions together must hold at least one session's".into(),
            ));
        }
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        assert_eq!(
            Limits::resolve(&LimitsConfig::default()).unwrap(),
            Limits::default()
        );
        let bad = LimitsConfig {
            max_batch: Some(0),
            ..LimitsConfig::default()
        };
        assert!(Limits::resolve(&bad).unwrap_err().0.contains("max_batch"));
        let bad = LimitsConfig {
            header_timeout: Some(-1.0),
            ..LimitsConfig::default()
        };
        assert!(Limits::resolve(&bad)
            .unwrap_err()
            .0
            .contains("header_timeout"));
        let bad = LimitsConfig {
            queue_bytes: Some(100_000),
            ..LimitsConfig::default()
        };
        assert!(Limits::resolve(&bad).unwrap_err().0.contains("queue_bytes"));
    }
}
