//! Profiles, in process: who is let in by which door, and that a session of
//! a profile sees and reaches only what the profile offers, on every path
//! (direct listing, search, describe, call). The end-to-end tests
//! (tests/python/test_profiles.py) cover the HTTP doors, resources, prompts
//! and the CLI against real servers.

use serde_json::{json, Value};

use super::in_process_tests::{error_of, request, text_of, tool, FakeServer, InProcess};
use super::{Door, Refusal};
use crate::config::SurfaceMode;
use crate::protocol::ErrorCode;

const PROFILES: &str = r#"
[profiles.reading]
description = "Only what reads"
servers = ["a", "b"]
tools = ["read_*", "b/echo"]

[profiles.only-b]
servers = ["b"]
surface = "search"
"#;

async fn two_servers() -> (InProcess, FakeServer, FakeServer) {
    let a = FakeServer::new(vec![
        tool("read_file", "Reads a file."),
        tool("delete_file", "Deletes a file for good."),
        tool("echo", "Echoes text back."),
    ]);
    let b = FakeServer::new(vec![
        tool("echo", "Echoes text back, loudly."),
        tool("read_mail", "Reads the inbox."),
    ]);
    let gp = InProcess::start_with(&[("a", &a), ("b", &b)], PROFILES).await;
    gp.approve("a").await;
    gp.approve("b").await;
    (gp, a, b)
}

fn profile(name: &str) -> Door {
    Door {
        profile: Some(name.to_owned()),
        surface: None,
    }
}

/// The names `tools/list` gives the session.
async fn listed(gp: &InProcess, session: &std::sync::Arc<super::Session>) -> Vec<String> {
    let answer = gp
        .gw
        .handle(session, request(9, "tools/list", json!({})), None)
        .await
        .unwrap();
    let result: Value = serde_json::from_str(answer.result.unwrap().get()).unwrap();
    let mut names: Vec<String> = result["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_profile_lists_and_calls_only_its_tools_and_the_rest_does_not_exist() {
    let (gp, a, b) = two_servers().await;
    let everything = gp.session().await;
    assert_eq!(listed(&gp, &everything).await.len(), 5);

    let reading = gp.session_by(&profile("reading")).await;
    assert_eq!(
        listed(&gp, &reading).await,
        ["a__read_file", "b__echo", "b__read_mail"]
    );
    let answer = gp.call(&reading, 1, "a__read_file").await;
    assert_eq!(text_of(&answer), r#"a ran "read_file" with {"text":"hi"}"#);
    // Outside the profile a tool is unknown, exactly as a name no server has.
    for (id, name) in [(2, "a__delete_file"), (3, "a__echo")] {
        let (code, message) = error_of(&gp.call(&reading, id, name).await);
        assert_eq!(code, ErrorCode::InvalidParams.code());
        assert!(
            message.contains(&format!("unknown tool `{name}`")),
            "{message}"
        );
    }
    assert_eq!(a.calls().len(), 1, "nothing outside the profile reached a");
    assert!(b.calls().is_empty());
}

#[tokio::test]
async fn search_and_describe_in_a_profile_see_only_its_tools() {
    let (gp, _a, _b) = two_servers().await;
    // `only-b` sets the search surface itself.
    let session = gp.session_by(&profile("only-b")).await;
    assert_eq!(session.surface(), SurfaceMode::Search);
    let search = |id, query: &str| {
        request(
            id,
            "tools/call",
            json!({ "name": "search_tools", "arguments": { "query": query, "limit": 25 } }),
        )
    };
    let answer = gp
        .gw
        .handle(&session, search(1, "read"), None)
        .await
        .unwrap();
    let text = text_of(&answer);
    assert!(text.contains("b__read_mail"), "{text}");
    assert!(!text.contains("a__"), "{text}");
    let answer = gp
        .gw
        .handle(&session, search(2, "delete a file"), None)
        .await;
    let text = text_of(&answer.unwrap());
    assert!(!text.contains("delete_file"), "{text}");

    let describe = |id, name: &str| {
        request(
            id,
            "tools/call",
            json!({ "name": "describe_tool", "arguments": { "name": name } }),
        )
    };
    let answer = gp.gw.handle(&session, describe(3, "b__echo"), None).await;
    assert!(text_of(&answer.unwrap()).contains("loudly"));
    let answer = gp.gw.handle(&session, describe(4, "a__echo"), None).await;
    let (_, message) = error_of(&answer.unwrap());
    assert!(message.contains("unknown tool `a__echo`"), "{message}");
    let call = request(
        5,
        "tools/call",
        json!({ "name": "call_tool", "arguments": { "name": "a__read_file", "arguments": {} } }),
    );
    let (_, message) = error_of(&gp.gw.handle(&session, call, None).await.unwrap());
    assert!(message.contains("unknown tool `a__read_file`"), "{message}");
}

#[tokio::test]
async fn a_token_bound_to_a_profile_sees_it_at_every_door_and_no_other() {
    let (gp, _a, _b) = two_servers().await;
    let bound = gp.gw.add_client("reader", Some("reading")).unwrap();
    let free = gp.gw.add_client("cli", None).unwrap();

    let at_mcp = gp.gw.admit(Some(&bound.token), &Door::default()).unwrap();
    assert_eq!(at_mcp.profile.as_deref(), Some("reading"));
    assert_eq!(at_mcp.caller.as_deref(), Some("reader"));
    let at_its_own = gp
        .gw
        .admit(Some(&bound.token), &profile("reading"))
        .unwrap();
    assert_eq!(at_its_own, at_mcp);
    let elsewhere = gp.gw.admit(Some(&bound.token), &profile("only-b"));
    assert!(
        matches!(&elsewhere, Err(Refusal::OtherProfile { bound, asked, .. }) if bound == "reading" && asked == "only-b"),
        "{elsewhere:?}"
    );
    assert_eq!(elsewhere.unwrap_err().status(), 403);

    // A token without a profile may take any door; an unknown profile is 404.
    let free_at_b = gp.gw.admit(Some(&free.token), &profile("only-b")).unwrap();
    assert_eq!(free_at_b.profile.as_deref(), Some("only-b"));
    let unknown = gp
        .gw
        .admit(Some(&free.token), &profile("nope"))
        .unwrap_err();
    assert_eq!(unknown.status(), 404);
    let hint = crate::hint::hint_of(&unknown).unwrap();
    assert!(hint.contains("reading, only-b"), "{hint}");
    // Without a token, once tokens exist, nobody is let in.
    assert_eq!(
        gp.gw.admit(None, &profile("reading")),
        Err(Refusal::Missing)
    );
}

#[tokio::test]
async fn a_stateless_request_keeps_to_its_profile_too() {
    let (gp, a, _b) = two_servers().await;
    let admission = gp.gw.admit(None, &profile("reading")).unwrap();
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": { "name": "t", "version": "1" },
    });
    let list = request(1, "tools/list", json!({ "_meta": meta }));
    let answer = gp.gw.handle_modern(list, None, &admission, None).await;
    let result: Value = serde_json::from_str(answer.result.unwrap().get()).unwrap();
    let mut names: Vec<&str> = result["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["a__read_file", "b__echo", "b__read_mail"]);
    let call = request(
        2,
        "tools/call",
        json!({ "name": "a__delete_file", "arguments": {}, "_meta": meta }),
    );
    let (_, message) = error_of(&gp.gw.handle_modern(call, None, &admission, None).await);
    assert!(
        message.contains("unknown tool `a__delete_file`"),
        "{message}"
    );
    assert!(a.calls().is_empty());
}
