use serde_json::json;

use super::super::format::Layout;
use super::super::EditError;

const CONTINUE: Layout = Layout::YamlList {
    key: "mcpServers",
    preamble: "name: Local Config\nversion: 1.0.0\nschema: v1\n",
};
const GOOSE: Layout = Layout::YamlMap { key: "extensions" };

fn continue_entry(port: u16) -> serde_json::Value {
    json!({"name": "portcullis", "type": "streamable-http", "url": format!("http://127.0.0.1:{port}/mcp")})
}

#[test]
fn continue_gets_an_item_after_its_servers_and_the_rest_stays() {
    let before = "\
# my Continue config
name: Local Config
version: 1.0.0
schema: v1

models:
  - name: Llama   # local
    provider: ollama
    model: llama3.1:8b

mcpServers:
  # the database
  - name: SQLite
    command: npx
    args: [\"-y\", \"mcp-sqlite\", \"/db.sqlite\"]
  - name: remote
    type: streamable-http
    url: https://r.example/mcp
# end of servers

rules:
  - Be brief
";
    let after = CONTINUE.write(Some(before), &continue_entry(7331)).unwrap();
    let added =
        "  - name: portcullis\n    type: streamable-http\n    url: http://127.0.0.1:7331/mcp\n";
    let at = before.find("# end of servers").unwrap();
    assert_eq!(after, format!("{}{added}{}", &before[..at], &before[at..]));
    assert_eq!(
        CONTINUE.current(&after).unwrap(),
        Some(continue_entry(7331))
    );
    // Another port replaces the item where it is, nothing else.
    let again = CONTINUE.write(Some(&after), &continue_entry(9)).unwrap();
    assert_eq!(again, after.replace("7331", "9"));
}

#[test]
fn continue_items_at_the_keys_own_indentation_and_an_item_in_the_middle() {
    let before = "mcpServers:\n- name: portcullis\n  url: http://old/mcp\n# kept\n- name: other\n  command: x\n";
    let after = CONTINUE.write(Some(before), &continue_entry(1)).unwrap();
    assert_eq!(
        after,
        "mcpServers:\n- name: portcullis\n  type: streamable-http\n  url: http://127.0.0.1:1/mcp\n# kept\n- name: other\n  command: x\n"
    );
}

#[test]
fn empty_and_missing_lists_and_new_files() {
    for (before, want) in [
        (
            "name: c\nmcpServers: [] # none yet\nversion: 1\n",
            "name: c\nmcpServers: # none yet\n  - name: portcullis\n    type: streamable-http\n    url: http://127.0.0.1:1/mcp\nversion: 1\n",
        ),
        (
            "name: c\nversion: 1",
            "name: c\nversion: 1\nmcpServers:\n  - name: portcullis\n    type: streamable-http\n    url: http://127.0.0.1:1/mcp\n",
        ),
        (
            "name: c\r\nmcpServers:\r\n",
            "name: c\r\nmcpServers:\r\n  - name: portcullis\r\n    type: streamable-http\r\n    url: http://127.0.0.1:1/mcp\r\n",
        ),
    ] {
        assert_eq!(
            CONTINUE.write(Some(before), &continue_entry(1)),
            Ok(want.to_owned()),
            "{before}"
        );
    }
    assert_eq!(
        CONTINUE.write(None, &continue_entry(1)).unwrap(),
        "name: Local Config\nversion: 1.0.0\nschema: v1\nmcpServers:\n  - name: portcullis\n    type: streamable-http\n    url: http://127.0.0.1:1/mcp\n"
    );
    assert_eq!(
        CONTINUE.snippet(&continue_entry(1)),
        "mcpServers:\n  - name: portcullis\n    type: streamable-http\n    url: http://127.0.0.1:1/mcp\n"
    );
}

fn goose_entry(url: &str) -> serde_json::Value {
    json!({"enabled": true, "type": "streamable_http", "name": "portcullis", "description": "Portcullis: the approved tools", "uri": url, "timeout": 300})
}

#[test]
fn goose_gets_an_extension_among_its_own_and_the_rest_stays() {
    let before = "\
GOOSE_PROVIDER: anthropic   # chosen in goose configure
GOOSE_MODEL: claude-sonnet-4
extensions:
  developer:
    bundled: true
    display_name: Developer
    enabled: true
    name: developer
    timeout: 300
    type: builtin
  fetch:
    args:
    - mcp-server-fetch
    cmd: uvx
    enabled: true
    envs: {}
    name: fetch
    type: stdio
GOOSE_MODE: smart_approve
";
    let after = GOOSE
        .write(Some(before), &goose_entry("http://127.0.0.1:7331/mcp"))
        .unwrap();
    let added = "  portcullis:\n    enabled: true\n    type: streamable_http\n    name: portcullis\n    description: \"Portcullis: the approved tools\"\n    uri: http://127.0.0.1:7331/mcp\n    timeout: 300\n";
    let at = before.find("GOOSE_MODE:").unwrap();
    assert_eq!(after, format!("{}{added}{}", &before[..at], &before[at..]));
    assert_eq!(
        GOOSE.current(&after).unwrap(),
        Some(goose_entry("http://127.0.0.1:7331/mcp"))
    );
    let again = GOOSE
        .write(Some(&after), &goose_entry("http://127.0.0.1:9/mcp"))
        .unwrap();
    assert_eq!(again, after.replace("7331", "9"));
}

#[test]
fn what_it_cannot_edit_safely_is_refused() {
    let entry = goose_entry("http://h/mcp");
    for bad in [
        "extensions: {developer: {enabled: true, type: builtin, name: developer}}\n",
        "extensions:\n  {developer: {enabled: true}}\n",
        "extensions: &base\n  a:\n    enabled: true\n",
        "extensions:\n  a: [1\n",
        "- just\n- a list\n",
    ] {
        assert!(
            matches!(
                GOOSE.write(Some(bad), &entry),
                Err(EditError::Unreadable(_) | EditError::Unverified(_))
            ),
            "{bad}"
        );
    }
    // An indented root: a new top-level key would change the document, and the check sees it.
    assert!(GOOSE.write(Some("  a: 1\n  b: 2\n"), &entry).is_err());
}

#[test]
fn strings_yaml_would_misread_are_quoted() {
    for s in ["true", "1.5", "no", "a b", "x:", "#c", "", "0x1F", "~"] {
        assert!(!super::plain(s), "{s}");
    }
    for s in ["http://127.0.0.1:7331/mcp", "streamable-http", "portcullis"] {
        assert!(super::plain(s), "{s}");
    }
}
