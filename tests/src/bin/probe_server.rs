//! `portcullis-probe-server`: an MCP server over stdio that reports what the
//! place it runs in allows, for the isolation tests. Each tool tries one
//! thing and says how it went, as text; nothing here fails the call.
//!
//! Tools:
//! - `try_connect(host, port)`: a TCP connection, 3 s at most;
//! - `try_write(path)`: creates (or truncates) a file and writes to it;
//! - `read(path)`: a file's text;
//! - `env(name)`: an environment variable, or `unset`;
//! - `interfaces`: the network interfaces (from /proc/net/dev);
//! - `whoami`: uid, gid and the process's capabilities (from /proc/self/status);
//! - `try_exec(path)`: copies this program to `path`, makes it executable
//!   and runs it (it ends at once: its input is empty);
//! - `resolve(name)`: the addresses the name resolves to here;
//! - `try_proxy(target)`: `CONNECT target` through the proxy `HTTPS_PROXY`
//!   names, and when it opens, one `GET /` through the tunnel.
//!
//! `portcullis-probe-server --http PORT NAME` is instead a plain HTTP server
//! on `0.0.0.0:PORT` answering every request `hello from NAME` (the hosts of
//! the egress tests).
//!
//! Written on serde_json alone and handled one request at a time: it has to
//! run in a container whose root holds only it and its libraries.

use std::io::{BufRead, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde_json::{json, Value};

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if let [_, flag, port, name] = argv.as_slice() {
        if flag == "--http" {
            return serve_http(port, name);
        }
    }
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let Some(id) = msg.get("id").cloned() else {
            continue;
        };
        let method = msg["method"].as_str().unwrap_or_default();
        let reply = match method {
            "initialize" => json!({
                "protocolVersion": msg["params"]["protocolVersion"].as_str().unwrap_or("2025-11-25"),
                "capabilities": { "tools": {} },
                "serverInfo": { "name": "portcullis-probe-server", "version": env!("CARGO_PKG_VERSION") },
            }),
            "tools/list" => json!({ "tools": tools() }),
            "tools/call" => {
                let args = &msg["params"]["arguments"];
                let text = call(msg["params"]["name"].as_str().unwrap_or_default(), args);
                json!({ "content": [{ "type": "text", "text": text }] })
            }
            "ping" => json!({}),
            _ => {
                let err = json!({ "jsonrpc": "2.0", "id": id, "error": { "code": -32601, "message": format!("unknown method {method}") } });
                let _ = writeln!(stdout, "{err}");
                let _ = stdout.flush();
                continue;
            }
        };
        let _ = writeln!(
            stdout,
            "{}",
            json!({ "jsonrpc": "2.0", "id": id, "result": reply })
        );
        let _ = stdout.flush();
    }
}

fn tools() -> Value {
    let s = |name: &str, description: &str, props: Value, required: &[&str]| json!({ "name": name, "description": description, "inputSchema": { "type": "object", "properties": props, "required": required } });
    let string = json!({ "type": "string" });
    json!([
        s(
            "try_connect",
            "Try a TCP connection and say how it went.",
            json!({ "host": string, "port": { "type": "integer" } }),
            &["host", "port"]
        ),
        s(
            "try_write",
            "Try to write a file and say how it went.",
            json!({ "path": string }),
            &["path"]
        ),
        s(
            "read",
            "Read a text file.",
            json!({ "path": string }),
            &["path"]
        ),
        s(
            "env",
            "Read an environment variable.",
            json!({ "name": string }),
            &["name"]
        ),
        s("interfaces", "List the network interfaces.", json!({}), &[]),
        s(
            "whoami",
            "Say the user, group and capabilities of this process.",
            json!({}),
            &[]
        ),
        s(
            "resolve",
            "Resolve a name and list its addresses.",
            json!({ "name": string }),
            &["name"]
        ),
        s(
            "try_proxy",
            "CONNECT to host:port through HTTPS_PROXY and GET / through the tunnel.",
            json!({ "target": string }),
            &["target"]
        ),
        s(
            "try_exec",
            "Try to place a program at a path and run it, and say how it went.",
            json!({ "path": string }),
            &["path"]
        ),
    ])
}

fn call(name: &str, args: &Value) -> String {
    let arg = |k: &str| args[k].as_str().unwrap_or_default().to_owned();
    match name {
        "try_connect" => {
            let target = format!("{}:{}", arg("host"), args["port"].as_u64().unwrap_or(0));
            let addr = match target.to_socket_addrs().map(|mut a| a.next()) {
                Ok(Some(a)) => a,
                Ok(None) => return format!("failed: {target} has no address"),
                Err(e) => return format!("failed: {e}"),
            };
            match TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
                Ok(_) => format!("connected to {addr}"),
                Err(e) => format!("failed: {e}"),
            }
        }
        "try_write" => match std::fs::write(arg("path"), b"written by the probe\n") {
            Ok(()) => "wrote".to_owned(),
            Err(e) => format!("failed: {e}"),
        },
        "read" => std::fs::read_to_string(arg("path")).unwrap_or_else(|e| format!("failed: {e}")),
        "env" => std::env::var(arg("name")).unwrap_or_else(|_| "unset".to_owned()),
        "interfaces" => {
            let dev = std::fs::read_to_string("/proc/net/dev").unwrap_or_default();
            let names: Vec<&str> = dev
                .lines()
                .skip(2)
                .filter_map(|l| l.split(':').next())
                .map(str::trim)
                .collect();
            names.join(",")
        }
        "whoami" => {
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            let pick = |key: &str| {
                status
                    .lines()
                    .find(|l| l.starts_with(key))
                    .map(|l| l[key.len()..].trim().to_owned())
                    .unwrap_or_default()
            };
            format!(
                "uid={} gid={} CapEff={} CapBnd={} NoNewPrivs={}",
                pick("Uid:"),
                pick("Gid:"),
                pick("CapEff:"),
                pick("CapBnd:"),
                pick("NoNewPrivs:")
            )
        }
        "try_exec" => try_exec(&arg("path")),
        "resolve" => match (arg("name").as_str(), 443).to_socket_addrs() {
            Ok(addrs) => {
                let addrs: Vec<String> = addrs.map(|a| a.ip().to_string()).collect();
                format!("resolved: {}", addrs.join(","))
            }
            Err(e) => format!("failed: {e}"),
        },
        "try_proxy" => try_proxy(&arg("target")).unwrap_or_else(|e| format!("failed: {e}")),
        other => format!("failed: no tool {other}"),
    }
}

/// Copies this program to `path`, marks it executable and runs it.
fn try_exec(path: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let placed = std::env::current_exe()
        .and_then(|me| std::fs::copy(me, path))
        .and_then(|_| std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)));
    if let Err(e) = placed {
        return format!("failed to place it: {e}");
    }
    match std::process::Command::new(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
    {
        Ok(status) => format!("ran: {status}"),
        Err(e) => format!("failed: {e}"),
    }
}

/// `CONNECT target` through `HTTPS_PROXY`: the proxy's status line, and
/// after a 200 the last line of what `GET /` through the tunnel answers.
fn try_proxy(target: &str) -> std::io::Result<String> {
    let proxy =
        std::env::var("HTTPS_PROXY").map_err(|_| std::io::Error::other("HTTPS_PROXY is unset"))?;
    let address = proxy.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(address)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n")?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte)? == 1 {
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head.lines().next().unwrap_or_default().to_owned();
    if !status.contains(" 200 ") {
        return Ok(status);
    }
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)?;
    let last = answer
        .trim_end()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    Ok(format!("{status} | {last}"))
}

/// `--http PORT NAME`: answers every request with `hello from NAME`.
fn serve_http(port: &str, name: &str) {
    let listener = TcpListener::bind(format!("0.0.0.0:{port}")).expect("bind the HTTP port");
    for stream in listener.incoming() {
        let Ok(mut s) = stream else { continue };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let body = format!("hello from {name}\n");
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
}
