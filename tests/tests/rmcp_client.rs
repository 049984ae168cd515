//! The real `rmcp` client (the Rust MCP SDK) against the gateway binary, with
//! three real upstreams behind it: server-everything over stdio,
//! mcp-server-time and mcp-server-git. Over streamable HTTP (`portcullis
//! serve`) and over stdio (`portcullis stdio`, spawned by rmcp itself).

mod common;

use std::time::Duration;

use rmcp::model::{CallToolRequestParam, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};

use common::{Admin, Gateway, Peers};

const UPSTREAMS: [&str; 3] = ["everything", "time", "git"];
const COMMIT_MESSAGE: &str = "rmcp e2e commit";
/// Bounds every client operation, so a hang fails the test instead of the CI job.
const STEP: Duration = Duration::from_secs(60);

async fn step<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(STEP, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {STEP:?}"))
}

fn text_of(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn call(
    client: &RunningService<RoleClient, ()>,
    name: &'static str,
    arguments: Value,
) -> CallToolResult {
    let arguments = match arguments {
        Value::Object(map) => Some(map),
        _ => None,
    };
    let result = step(
        name,
        client.call_tool(CallToolRequestParam {
            name: name.into(),
            arguments,
        }),
    )
    .await
    .unwrap_or_else(|e| panic!("calling {name} failed: {e}"));
    assert_ne!(
        result.is_error,
        Some(true),
        "{name} answered with an error: {}",
        text_of(&result)
    );
    result
}

/// Lists the merged tools and calls one tool of each upstream.
async fn exercise(client: &RunningService<RoleClient, ()>, repo: &std::path::Path) {
    let info = client.peer_info().expect("the gateway answered initialize");
    assert_eq!(info.server_info.name, "portcullis");

    let tools = step("tools/list", client.list_all_tools())
        .await
        .expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for want in [
        "everything__echo",
        "everything__get-sum",
        "time__get_current_time",
        "time__convert_time",
        "git__git_log",
        "git__git_status",
    ] {
        assert!(
            names.contains(&want),
            "{want} is missing; the gateway lists {names:?}"
        );
    }
    assert!(
        names.iter().all(|n| ["everything__", "time__", "git__"]
            .iter()
            .any(|p| n.starts_with(p))),
        "a tool without its server's prefix: {names:?}"
    );

    let echo = call(
        client,
        "everything__echo",
        json!({ "message": "from rmcp" }),
    )
    .await;
    assert_eq!(text_of(&echo), "Echo: from rmcp");

    let converted = call(
        client,
        "time__convert_time",
        json!({ "source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo" }),
    )
    .await;
    assert!(
        text_of(&converted).contains("21:00:00+09:00"),
        "unexpected conversion: {}",
        text_of(&converted)
    );

    let log = call(
        client,
        "git__git_log",
        json!({ "repo_path": repo.display().to_string(), "max_count": 1 }),
    )
    .await;
    assert!(
        text_of(&log).contains(&format!("Message: {COMMIT_MESSAGE}")),
        "unexpected git log: {}",
        text_of(&log)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmcp_over_streamable_http_reaches_three_upstreams() {
    let Some(peers) = Peers::find("rmcp_over_streamable_http_reaches_three_upstreams") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let repo = dir.path().join("repo");
    common::make_git_repo(&repo, COMMIT_MESSAGE);
    let home = common::home_with(dir.path(), &common::three_upstreams(&peers, &repo));
    let gw = Gateway::start(&home);
    Admin::of(&home).approve_all(&UPSTREAMS).await;
    assert!(
        common::processes_of(&home).len() >= 4,
        "expected the gateway and its three upstreams: {:?}",
        common::processes_of(&home)
    );

    let transport = StreamableHttpClientTransport::from_uri(gw.url.clone());
    let client = step("initialize", ().serve(transport))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "initialize failed: {e}\n--- gateway stderr ---\n{}",
                gw.stderr()
            )
        });
    exercise(&client, &repo).await;
    step("closing the client", client.cancel())
        .await
        .expect("close the client");
    drop(gw); // SIGTERM: the gateway stops its upstreams before it exits
    common::assert_no_processes_left(&home, Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmcp_over_stdio_reaches_three_upstreams() {
    let Some(peers) = Peers::find("rmcp_over_stdio_reaches_three_upstreams") else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let repo = dir.path().join("repo");
    common::make_git_repo(&repo, COMMIT_MESSAGE);
    let home = common::home_with(dir.path(), &common::three_upstreams(&peers, &repo));
    // `portcullis stdio` has no admin API: approve once through `portcullis serve` on the
    // same home, as a person would; the approvals are kept in the home's store.
    {
        let _gw = Gateway::start(&home);
        Admin::of(&home).approve_all(&UPSTREAMS).await;
    }

    let mut command = tokio::process::Command::new(common::gateway_bin());
    command.arg("stdio").env("PORTCULLIS_HOME", &home);
    let transport = TokioChildProcess::new(command).expect("spawn `portcullis stdio`");
    let client = step("initialize", ().serve(transport))
        .await
        .expect("initialize over stdio");
    exercise(&client, &repo).await;
    // Closing stdin ends `portcullis stdio`, which stops its upstreams; rmcp waits for it
    // (3 s, then SIGKILL, which would orphan the upstreams: they run in their own process groups).
    step("closing the client", client.cancel())
        .await
        .expect("close the client");
    common::assert_no_processes_left(&home, Duration::from_secs(2));
}
