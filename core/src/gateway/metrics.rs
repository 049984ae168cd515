//! Prometheus metrics, in the text exposition format (version 0.0.4) at
//! `/metrics` on the admin listener, behind the same token as the admin API.
//!
//! Counted as they happen: tool calls by server, tool and outcome, with a
//! latency histogram per server and tool, and search latency. Read when
//! scraped: each upstream's state, restarts and load, tools waiting for
//! approval, client sessions and the bytes queued for them. Nothing here
//! holds a lock across an await; a call costs one short mutex hold.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::Gateway;
use crate::store::CallOutcome;

/// Upper bounds of the latency histograms' buckets, in seconds.
const BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

#[derive(Default, Clone)]
struct Histogram {
    /// Observations at or below each bound (not cumulative; summed when rendered).
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.counts[i] += 1;
        }
        self.sum += seconds;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(self.counts) {
            cumulative += n;
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// One tool's calls: by outcome, and their latency.
#[derive(Default, Clone)]
struct ToolStats {
    ok: u64,
    error: u64,
    blocked: u64,
    latency: Histogram,
}

/// What the gateway counts as it goes.
#[derive(Default)]
pub(crate) struct Metrics {
    /// server → tool → its calls (looked up by `&str`: no allocation once seen).
    tools: Mutex<BTreeMap<String, BTreeMap<String, ToolStats>>>,
    search: Mutex<Histogram>,
    /// server → when its recent calls ended and how long each took (the
    /// last minute's, at most [`RECENT_MAX`]), for calls per minute and p50.
    recent: Mutex<BTreeMap<String, VecDeque<(Instant, u32)>>>,
    /// (client its token names, outcome) → calls.
    clients: Mutex<BTreeMap<(String, &'static str), u64>>,
}

/// The most recent calls kept per server.
const RECENT_MAX: usize = 4096;
/// The window of "recent".
const RECENT: Duration = Duration::from_secs(60);

/// A server's calls of the last minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallRate {
    /// Calls that ended in the last minute.
    pub per_minute: u32,
    /// Their median duration in milliseconds (none without calls).
    pub p50_ms: Option<u32>,
}

/// A label value as the format wants it: backslash, quote and newline escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

impl Metrics {
    /// One tool call ended.
    pub(crate) fn call(&self, server: &str, tool: &str, outcome: &CallOutcome, duration_ms: u64) {
        let mut servers = self.tools.lock();
        if !servers.contains_key(server) {
            servers.insert(server.to_owned(), BTreeMap::new());
        }
        let Some(tools) = servers.get_mut(server) else {
            return;
        };
        if !tools.contains_key(tool) {
            tools.insert(tool.to_owned(), ToolStats::default());
        }
        let Some(stats) = tools.get_mut(tool) else {
            return;
        };
        match outcome {
            CallOutcome::Ok => stats.ok += 1,
            CallOutcome::Error(_) => stats.error += 1,
            CallOutcome::Blocked => stats.blocked += 1,
        }
        stats.latency.observe(duration_ms as f64 / 1000.0);
        drop(servers);
        let now = Instant::now();
        let mut recent = self.recent.lock();
        if !recent.contains_key(server) {
            recent.insert(server.to_owned(), VecDeque::new());
        }
        if let Some(calls) = recent.get_mut(server) {
            while calls.len() >= RECENT_MAX
                || calls
                    .front()
                    .is_some_and(|(t, _)| now.duration_since(*t) > RECENT)
            {
                calls.pop_front();
            }
            calls.push_back((now, u32::try_from(duration_ms).unwrap_or(u32::MAX)));
        }
    }

    /// `server`'s calls of the last minute.
    pub(crate) fn rate(&self, server: &str) -> CallRate {
        let recent = self.recent.lock();
        let Some(calls) = recent.get(server) else {
            return CallRate::default();
        };
        let now = Instant::now();
        let mut ms: Vec<u32> = calls
            .iter()
            .filter(|(t, _)| now.duration_since(*t) <= RECENT)
            .map(|(_, d)| *d)
            .collect();
        ms.sort_unstable();
        CallRate {
            per_minute: u32::try_from(ms.len()).unwrap_or(u32::MAX),
            p50_ms: (!ms.is_empty()).then(|| ms[(ms.len() - 1) / 2]),
        }
    }

    /// One search was answered.
    pub(crate) fn search(&self, took: Duration) {
        self.search.lock().observe(took.as_secs_f64());
    }

    fn render_counted(&self, out: &mut String) {
        let tools = self.tools.lock().clone();
        header(
            out,
            "portcullis_tool_calls_total",
            "counter",
            "Tool calls by server, tool and outcome (ok, error, blocked).",
        );
        for (server, per_tool) in &tools {
            for (tool, stats) in per_tool {
                let outcomes = [
                    ("ok", stats.ok),
                    ("error", stats.error),
                    ("blocked", stats.blocked),
                ];
                for (outcome, n) in outcomes.into_iter().filter(|(_, n)| *n > 0) {
                    let _ = writeln!(
                        out,
                        "portcullis_tool_calls_total{{server=\"{}\",tool=\"{}\",outcome=\"{outcome}\"}} {n}",
                        escape(server),
                        escape(tool)
                    );
                }
            }
        }
        header(
            out,
            "portcullis_tool_call_duration_seconds",
            "histogram",
            "How long tool calls took, from the client's request to the answer.",
        );
        for (server, per_tool) in &tools {
            for (tool, stats) in per_tool {
                let labels = format!("server=\"{}\",tool=\"{}\"", escape(server), escape(tool));
                stats
                    .latency
                    .render(out, "portcullis_tool_call_duration_seconds", &labels);
            }
        }
        header(
            out,
            "portcullis_search_duration_seconds",
            "histogram",
            "How long tool searches took.",
        );
        let search = self.search.lock().clone();
        search.render(out, "portcullis_search_duration_seconds", "");
        header(
            out,
            "portcullis_client_calls_total",
            "counter",
            "Tool calls by the client whose token made them (`portcullis client add`), and outcome.",
        );
        let clients = self.clients.lock().clone();
        for ((client, outcome), n) in &clients {
            let _ = writeln!(
                out,
                "portcullis_client_calls_total{{client=\"{}\",outcome=\"{outcome}\"}} {n}",
                escape(client)
            );
        }
    }

    /// Counts a call made by `client` (the one its token names).
    pub(crate) fn client_call(&self, client: &str, outcome: &CallOutcome) {
        let label = match outcome {
            CallOutcome::Ok => "ok",
            CallOutcome::Error(_) => "error",
            CallOutcome::Blocked => "blocked",
        };
        *self
            .clients
            .lock()
            .entry((client.to_owned(), label))
            .or_default() += 1;
    }
}

impl Gateway {
    /// The metrics in Prometheus's text format.
    pub fn metrics_text(&self) -> String {
        let mut out = String::new();
        self.inner.observe.metrics.render_counted(&mut out);
        let servers = self.servers();
        header(
            &mut out,
            "portcullis_upstream_up",
            "gauge",
            "1 when the server is ready to take requests, else 0.",
        );
        for s in &servers {
            let up = u8::from(s.state == crate::upstream::UpstreamState::Ready);
            let _ = writeln!(
                out,
                "portcullis_upstream_up{{server=\"{}\"}} {up}",
                escape(&s.name)
            );
        }
        header(
            &mut out,
            "portcullis_upstream_state",
            "gauge",
            "The server's state: 1 for the one it is in.",
        );
        for s in &servers {
            let state = serde_json::to_value(s.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "portcullis_upstream_state{{server=\"{}\",state=\"{}\"}} 1",
                escape(&s.name),
                escape(&state)
            );
        }
        header(
            &mut out,
            "portcullis_upstream_restarts_total",
            "counter",
            "Times the server was restarted since the gateway started it.",
        );
        for s in &servers {
            let _ = writeln!(
                out,
                "portcullis_upstream_restarts_total{{server=\"{}\"}} {}",
                escape(&s.name),
                s.restarts
            );
        }
        // Each family's samples follow its own header, as the format requires.
        let loads: Vec<_> = servers
            .iter()
            .filter_map(|s| s.load.map(|l| (escape(&s.name), l)))
            .collect();
        header(
            &mut out,
            "portcullis_upstream_requests_running",
            "gauge",
            "Requests holding a slot at a server with max_concurrent.",
        );
        for (name, load) in &loads {
            let _ = writeln!(
                out,
                "portcullis_upstream_requests_running{{server=\"{name}\"}} {}",
                load.running
            );
        }
        header(
            &mut out,
            "portcullis_upstream_requests_waiting",
            "gauge",
            "Requests waiting for a slot at a server with max_concurrent.",
        );
        for (name, load) in &loads {
            let _ = writeln!(
                out,
                "portcullis_upstream_requests_waiting{{server=\"{name}\"}} {}",
                load.waiting
            );
        }
        let pending = self.pending_tools().map_or(0, |p| p.len());
        header(
            &mut out,
            "portcullis_tools_pending_approval",
            "gauge",
            "Tools (new or changed) waiting for a person's approval.",
        );
        let _ = writeln!(out, "portcullis_tools_pending_approval {pending}");
        let sessions = super::events::sessions(self);
        header(
            &mut out,
            "portcullis_sessions",
            "gauge",
            "Client sessions open.",
        );
        let _ = writeln!(out, "portcullis_sessions {}", sessions.len());
        header(
            &mut out,
            "portcullis_session_queue_bytes",
            "gauge",
            "Bytes queued for clients that have not read them yet, all sessions together.",
        );
        let _ = writeln!(
            out,
            "portcullis_session_queue_bytes {}",
            self.inner.clients.sessions.budget().used()
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_and_latency_render_as_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.call("git", "git_log", &CallOutcome::Ok, 20);
        m.call("git", "git_log", &CallOutcome::Ok, 700);
        m.call("we\"ird", "t", &CallOutcome::Error("x".into()), 1);
        let mut out = String::new();
        m.render_counted(&mut out);
        assert!(
            out.contains(
                "portcullis_tool_calls_total{server=\"git\",tool=\"git_log\",outcome=\"ok\"} 2"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "portcullis_tool_calls_total{server=\"we\\\"ird\",tool=\"t\",outcome=\"error\"} 1"
            ),
            "{out}"
        );
        assert!(out.contains("portcullis_tool_call_duration_seconds_bucket{server=\"git\",tool=\"git_log\",le=\"0.025\"} 1"), "{out}");
        assert!(out.contains("portcullis_tool_call_duration_seconds_bucket{server=\"git\",tool=\"git_log\",le=\"1\"} 2"), "{out}");
        assert!(
            out.contains(
                "portcullis_tool_call_duration_seconds_count{server=\"git\",tool=\"git_log\"} 2"
            ),
            "{out}"
        );
        assert!(
            out.contains("portcullis_search_duration_seconds_count 0"),
            "{out}"
        );
        assert_eq!(
            m.rate("git"),
            CallRate {
                per_minute: 2,
                p50_ms: Some(20)
            }
        );
        assert_eq!(m.rate("none"), CallRate::default());
    }
}
