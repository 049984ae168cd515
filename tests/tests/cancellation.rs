//! Cancellation and timeouts reach the upstream under its own request ids.
//!
//! The echo server's `sleep` answers late (or never, once cancelled) and its
//! `received` tool reports the `notifications/cancelled` it got, with the
//! request ids as the upstream knew them, and how many sleeps run.

mod common;

use std::time::{Duration, Instant};

use common::stdio::approved_gateway;
use serde_json::Value;

/// What the echo server reports it received (`cancelled`, `sleeping`…).
fn received(gw: &mut common::stdio::StdioGateway, id: &str) -> Value {
    let line = gw.call(
        id,
        "tools/call",
        r#"{"name":"echo__received","arguments":{}}"#,
    );
    let v: Value = serde_json::from_str(&line).expect("JSON");
    v["result"]["structuredContent"].clone()
}

/// The request ids the echo server saw cancelled.
fn cancelled_upstream(gw: &mut common::stdio::StdioGateway, id: &str) -> Vec<Value> {
    received(gw, id)["cancelled"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits (up to 10 s) until the echo server runs `n` sleeps.
fn wait_for_sleeps(gw: &mut common::stdio::StdioGateway, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    for k in 0.. {
        let now = received(gw, &format!("\"sleeping-{k}\""))["sleeping"].as_u64();
        if now == Some(n) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the echo server runs {now:?} sleeps, not {n}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (up to 10 s) until the echo server has seen a cancellation; returns what it saw.
fn wait_for_upstream_cancellation(gw: &mut common::stdio::StdioGateway, what: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    for n in 0.. {
        let seen = cancelled_upstream(gw, &format!("\"check-{n}\""));
        if !seen.is_empty() {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "the upstream was never told {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    unreachable!()
}

#[test]
fn a_client_cancellation_reaches_the_upstream_with_its_own_id() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut gw = approved_gateway(home.path(), "");
    gw.send(r#"{"jsonrpc":"2.0","id":"nap-1","method":"tools/call","params":{"name":"echo__sleep","arguments":{"ms":60000}}}"#);
    // The call has reached the upstream before it is cancelled.
    wait_for_sleeps(&mut gw, 1);
    gw.send(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"nap-1","reason":"the user gave up"}}"#);
    let cancelled = wait_for_upstream_cancellation(&mut gw, "the call was cancelled");
    assert_eq!(cancelled.len(), 1, "the upstream saw {cancelled:?}");
    // The gateway's own id (a number), not the client's "nap-1".
    assert!(
        cancelled[0].is_u64(),
        "the upstream was told about {cancelled:?}"
    );
    // The client hears no success for what it cancelled.
    let answer = gw.response(r#""nap-1""#);
    assert!(answer.contains("cancelled"), "{answer}");
}

#[test]
fn a_cancellation_right_behind_its_request_still_reaches_the_upstream() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut gw = approved_gateway(home.path(), "");
    // Both lines (and their newlines) in one write: the gateway reads them together.
    gw.send(concat!(
        r#"{"jsonrpc":"2.0","id":"nap-2","method":"tools/call","params":{"name":"echo__sleep","arguments":{"ms":60000}}}"#,
        "\n",
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"nap-2","reason":"changed my mind"}}"#,
        "\n",
    ));
    let answer = gw.response(r#""nap-2""#);
    assert!(answer.contains("cancelled"), "{answer}");
    wait_for_upstream_cancellation(&mut gw, "the call was cancelled");
}

#[test]
fn a_call_past_the_servers_timeout_fails_in_time_and_is_cancelled_upstream() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut gw = approved_gateway(home.path(), "--timeout 1");
    let started = Instant::now();
    let line = gw.call(
        "7",
        "tools/call",
        r#"{"name":"echo__sleep","arguments":{"ms":30000}}"#,
    );
    let elapsed = started.elapsed();
    let v: Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(v["error"]["code"], -32001, "{line}");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("within 1 s") && message.contains("[servers.echo]"),
        "{message}"
    );
    // A behaviour bound, not a benchmark: the 1 s timeout, not the 30 s sleep.
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    wait_for_upstream_cancellation(&mut gw, "the call was abandoned");
}
