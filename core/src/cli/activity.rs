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
        let query = ActivityQuery { limit: a.limit, after_id: after, kind: None, server: None };
        let mut entries: Vec<Value> = match AdminClient::discover(&paths) {
            Some(client) => {
                let mut path = format!("activity?limit={}", a.limit);
                if let Some(id) = after {
                    path.push_str(&format!("&after_id={id}"));
                }
                client.get(&path, &paths.runtime_file()).await?
            }
            None => serde_json::from_value(serde_json::to_value(Store::open(paths.database())?.activity(&query)?)?)?,
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
                let time = e.get("time").and_then(Value::as_i64).map_or_else(String::new, format_time);
                println!("#{} {time} {}/{} {}", id_of(e), s("server"), s("tool"), e.get("event").map(Value::to_string).unwrap_or_default());
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

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
fn format_time(ms: i64) -> String {
    let [y, mo, d, h, mi, s] = portcullis::store::UnixMillis(ms).utc();
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_time() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00:00");
        assert_eq!(super::format_time(1_795_000_000_000), "2026-11-18 11:06:40");
    }
}
