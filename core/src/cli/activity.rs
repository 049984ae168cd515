//! `portcullis activity [--json] [--follow]`.

use std::time::Duration;

use portcullis::api::AdminClient;
use portcullis::config::Paths;
use portcullis::store::{ActivityQuery, Store};
use serde_json::Value;

use super::args::ActivityArgs;

pub(crate) async fn run(a: ActivityArgs) -> anyhow::Result<()> {
    let paths = Paths::resolve(a.config.config.as_deref())?;
    let mut after: Option<i64> = None;
    let mut first = true;
    loop {
        let query = ActivityQuery {
            limit: a.limit,
            after_id: after,
            kind: None,
            server: None,
        };
        let mut entries: Vec<Value> = match AdminClient::discover(&paths) {
            Some(client) => {
                let mut path = format!("activity?limit={}", a.limit);
                if let Some(id) = after {
                    path.push_str(&format!("&after_id={id}"));
                }
                client.get(&path, &paths.runtime_file()).await?
            }
            None => serde_json::from_value(serde_json::to_value(
                Store::open(paths.database())?.activity(&query)?,
            )?)?,
        };
        let id_of = |e: &Value| e.get("id").and_then(Value::as_i64).unwrap_or(0);
        entries.sort_by_key(id_of);
        if first && entries.is_empty() && !a.follow {
            println!("no activity yet");
        }
        for e in &entries {
            if a.json {
                println!("{}", serde_json::to_string(e)?);
            } else {
                let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("-").to_owned();
                let time = e
                    .get("time")
                    .and_then(Value::as_i64)
                    .map_or_else(String::new, format_time);
                let subject = if e.get("tool").is_some_and(Value::is_string) {
                    format!("{}/{}", s("server"), s("tool"))
                } else {
                    s("server")
                };
                println!("#{} {time} {subject} {}", id_of(e), describe(e));
            }
            after = Some(after.map_or(id_of(e), |a| a.max(id_of(e))));
        }
        first = false;
        if !a.follow {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One line on what an entry records, for people.
fn describe(e: &Value) -> String {
    let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("-");
    let n = |k: &str| e.get(k).and_then(Value::as_u64).unwrap_or(0);
    match s("kind") {
        "call" => {
            let outcome = e.get("outcome");
            let status = outcome
                .and_then(|o| o.get("status"))
                .and_then(Value::as_str)
                .unwrap_or("?");
            let message = outcome
                .and_then(|o| o.get("message"))
                .and_then(Value::as_str)
                .map_or(String::new(), |m| format!(": {m}"));
            match n("calls") {
                0 | 1 => format!("call {status} in {} ms{message}", n("duration_ms")),
                calls => format!(
                    "{calls} calls {status}, {} ms each on average{message}",
                    n("duration_ms")
                ),
            }
        }
        "decision" => format!(
            "{} by {} ({} -> {})",
            s("action"),
            s("actor"),
            s("from"),
            s("to")
        ),
        kind => {
            let to = e
                .get("to")
                .and_then(Value::as_str)
                .map_or(String::new(), |t| format!(" (now {t})"));
            format!("{kind}: {}{to}", s("action"))
        }
    }
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
fn format_time(ms: i64) -> String {
    let [y, mo, d, h, mi, s] = portcullis::store::UnixMillis(ms).utc();
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn describes_entries() {
        use serde_json::json;
        let call =
            json!({"kind": "call", "duration_ms": 3, "outcome": {"status": "ok"}, "calls": 1});
        assert_eq!(super::describe(&call), "call ok in 3 ms");
        let burst = json!({"kind": "call", "duration_ms": 1, "outcome": {"status": "error", "message": "boom"}, "calls": 40});
        assert_eq!(
            super::describe(&burst),
            "40 calls error, 1 ms each on average: boom"
        );
        let decision = json!({"kind": "decision", "action": "approve_tool", "actor": "cli", "from": "pending", "to": "approved"});
        assert_eq!(
            super::describe(&decision),
            "approve_tool by cli (pending -> approved)"
        );
        let found = json!({"kind": "discovery", "action": "tool_added", "to": "pending"});
        assert_eq!(
            super::describe(&found),
            "discovery: tool_added (now pending)"
        );
    }

    #[test]
    fn formats_time() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00:00");
        assert_eq!(super::format_time(1_795_000_000_000), "2026-11-18 11:06:40");
    }
}
