//! The egress proxy: how an isolated server with `network = [...]` reaches
//! the hosts on its allow list and nothing else. The gateway runs one per
//! such server, in-process. For the sandbox it listens on a Unix socket in
//! the server's private folder (a Unix socket crosses network namespaces
//! through the file system; the launcher relays `127.0.0.1:PORT` inside the
//! namespace to it). A container's proxy listens the same way, on a socket
//! in a folder of its own mounted into the container, where the container's
//! relay (`core/relay/main.rs`) carries `127.0.0.1:PORT` to it
//! (`container_egress.rs`).
//!
//! It speaks HTTP/1.1 proxying: `CONNECT host:port` (a tunnel, for HTTPS)
//! and absolute-form requests (`GET http://host/path`, plain HTTP, one
//! request per connection). It checks the host and port the client asked
//! for against the allow list *before* anything else, resolves names
//! itself, and connects only to what it resolved for an allowed name: the
//! server has no resolver of its own, so DNS can neither leak data nor
//! reach other hosts. Everything else is answered `403 Forbidden` and
//! reported to the gateway (the activity log). Its tasks live in the
//! upstream's tracker and end with the server's connection.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixListener, UnixStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::IsolationError;
use crate::config::EgressAllowList;

/// The longest request head (request line and headers) read.
const MAX_HEAD: usize = 16 * 1024;
/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long resolving a name may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting to one address may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections one server may have open through its proxy at once.
const MAX_CONNECTIONS: usize = 128;
/// The name of the socket in the server's private folder.
pub(crate) const SOCKET_NAME: &str = "egress.sock";

/// The variables that point HTTP clients at the relay (curl, Python, Node's
/// fetch with a proxy agent, Go, Rust's reqwest all read one of them).
pub(crate) const PROXY_VARS: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// A connection the proxy refused: which server asked for which host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressRefusal {
    /// The server whose proxy refused it.
    pub server: String,
    /// The host as the server asked for it (a name or an address).
    pub host: String,
    /// The port it asked for.
    pub port: u16,
}

/// Where refusals are reported (the gateway writes them to the activity log).
pub(crate) type RefusalSink = Arc<dyn Fn(EgressRefusal) + Send + Sync>;

/// A bound proxy, not yet serving.
pub(crate) struct EgressProxy {
    listener: UnixListener,
    /// The Unix socket's path and its inode, removed when the proxy stops
    /// (unless a later proxy of the same server has bound the path since).
    path: (PathBuf, u64),
}

impl EgressProxy {
    /// Binds `<dir>/egress.sock`, replacing a socket a previous run left;
    /// `shared`, any user may connect to it (a container's user may not be
    /// the gateway's: its folder is what keeps others out).
    pub(crate) fn bind(dir: &Path, shared: bool) -> Result<Self, IsolationError> {
        let path = dir.join(SOCKET_NAME);
        let fail = |e: io::Error| {
            IsolationError::Egress {
            message: format!("binding {}: {e}", path.display()),
            hint: "check that the gateway's data folder is writable and on a local file system; or use network = true or false".into(),
        }
        };
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(e)),
        }
        // A socket's path may be 107 bytes at most; through the folder's
        // descriptor it is short wherever the data folder is.
        let folder = std::fs::File::open(dir).map_err(fail)?;
        let short = short_path(&folder, SOCKET_NAME);
        let listener = UnixListener::bind(&short).map_err(fail)?;
        if shared {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o666))
                .map_err(fail)?;
        }
        let inode = inode(&path).map_err(fail)?;
        Ok(Self {
            listener,
            path: (path, inode),
        })
    }

    /// The Unix socket's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path.0
    }

    /// Serves connections until `cancel`, then removes the socket.
    pub(crate) fn serve(
        self,
        server: String,
        allow: EgressAllowList,
        refused: RefusalSink,
        tasks: &TaskTracker,
        cancel: CancellationToken,
    ) {
        let ctx = Arc::new(Context {
            server,
            allow,
            refused,
        });
        let conns = tasks.clone();
        tasks.spawn(async move {
            let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
            loop {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    break;
                };
                let accepted = tokio::select! {
                    a = self.listener.accept() => a,
                    () = cancel.cancelled() => break,
                };
                let Ok((stream, _)) = accepted else {
                    continue;
                };
                let (ctx, cancel) = (ctx.clone(), cancel.clone());
                conns.spawn(async move {
                    tokio::select! {
                        r = handle(stream, &ctx) => {
                            if let Err(e) = r {
                                tracing::debug!(server = ctx.server, "egress connection ended: {e}");
                            }
                        }
                        () = cancel.cancelled() => {}
                    }
                    drop(slot);
                });
            }
            let (path, ours) = &self.path;
            if inode(path).is_ok_and(|now| now == *ours) {
                let _ = std::fs::remove_file(path);
            }
        });
    }
}

/// The inode of the file at `path`.
fn inode(path: &Path) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::symlink_metadata(path)?.ino())
}

/// `/proc/self/fd/N/name`: `name` in the folder `folder` is open on.
#[cfg(target_os = "linux")]
pub(crate) fn short_path(folder: &std::fs::File, name: &str) -> PathBuf {
    use std::os::fd::AsRawFd;
    PathBuf::from(format!("/proc/self/fd/{}/{name}", folder.as_raw_fd()))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn short_path(_folder: &std::fs::File, name: &str) -> PathBuf {
    PathBuf::from(name)
}

struct Context {
    server: String,
    allow: EgressAllowList,
    refused: RefusalSink,
}

/// What a client asked the proxy for.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    host: String,
    port: u16,
    /// For an absolute-form request, the head to send the host (origin-form,
    /// `Connection: close`); `None` for `CONNECT`.
    forward: Option<Vec<u8>>,
}

async fn handle(mut client: UnixStream, ctx: &Context) -> io::Result<()> {
    let Ok(read) = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut client)).await else {
        return respond(&mut client, 408, "the request head took too long").await;
    };
    let Some((head, rest)) = read? else {
        return respond(&mut client, 431, "the request head is too long").await;
    };
    let request = match parse(&head) {
        Ok(r) => r,
        Err(why) => return respond(&mut client, 400, &why).await,
    };
    if !ctx.allow.allows(&request.host, request.port) {
        tracing::warn!(
            server = ctx.server,
            host = request.host,
            port = request.port,
            "egress refused: not on the server's allow list"
        );
        (ctx.refused)(EgressRefusal {
            server: ctx.server.clone(),
            host: request.host.clone(),
            port: request.port,
        });
        let why = format!(
            "{}:{} is not on this server's network allow list",
            request.host, request.port
        );
        return respond(&mut client, 403, &why).await;
    }
    let mut upstream = match connect(&request.host, request.port).await {
        Ok(s) => s,
        Err(e) => {
            let why = format!(
                "{}:{} could not be reached: {e}",
                request.host, request.port
            );
            return respond(&mut client, 502, &why).await;
        }
    };
    match &request.forward {
        None => {
            client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await?;
        }
        Some(head) => upstream.write_all(head).await?,
    }
    upstream.write_all(&rest).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// Reads up to the blank line that ends the head: the head, and what came
/// after it. `None` when the head is longer than [`MAX_HEAD`].
async fn read_head(client: &mut UnixStream) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed before the end of the request head",
            ));
        }
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf[from..].windows(4).position(|w| w == b"\r\n\r\n") {
            let end = from + i + 4;
            let rest = buf.split_off(end);
            return Ok(Some((buf, rest)));
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
    }
}

/// Reads the request line and, for plain HTTP, rewrites the head.
fn parse(head: &[u8]) -> Result<Request, String> {
    let text = std::str::from_utf8(head).map_err(|_| "the request head is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or_default();
    let mut words = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(format!("`{line}` is not a request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(format!("{version} is not HTTP/1.x"));
    }
    if method.eq_ignore_ascii_case("CONNECT") {
        let (host, port) = split_authority(target, None)?;
        return Ok(Request {
            host,
            port,
            forward: None,
        });
    }
    let Some(after) = target
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case("http://"))
        .map(|_| &target[7..])
    else {
        return Err(format!(
            "`{target}` is neither CONNECT host:port nor an absolute http:// URL"
        ));
    };
    let cut = after.find(['/', '?']).unwrap_or(after.len());
    let (authority, path) = after.split_at(cut);
    let (host, port) = split_authority(authority, Some(80))?;
    let path = match path {
        "" => "/".to_owned(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_owned(),
    };
    let mut out = format!("{method} {path} {version}\r\n");
    let mut has_host = false;
    for header in lines.filter(|l| !l.is_empty()) {
        let name = header.split(':').next().unwrap_or_default().trim();
        let dropped = [
            "connection",
            "proxy-connection",
            "proxy-authorization",
            "keep-alive",
        ];
        if dropped.iter().any(|d| name.eq_ignore_ascii_case(d)) {
            continue;
        }
        has_host |= name.eq_ignore_ascii_case("host");
        out.push_str(header);
        out.push_str("\r\n");
    }
    if !has_host {
        out.push_str(&format!("Host: {authority}\r\n"));
    }
    // One request per connection: the next would not be checked.
    out.push_str("Connection: close\r\n\r\n");
    Ok(Request {
        host,
        port,
        forward: Some(out.into_bytes()),
    })
}

/// `host:port` or `[v6]:port` (the port may be left out when `default` is given).
fn split_authority(authority: &str, default: Option<u16>) -> Result<(String, u16), String> {
    if authority.contains('@') {
        return Err(format!("`{authority}` carries credentials"));
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (addr, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("`{authority}` has no closing `]`"))?;
        (addr, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match (port, default) {
        (Some(p), _) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("`{authority}` has no valid port"))?,
        (None, Some(d)) => d,
        (None, None) => return Err(format!("`{authority}` has no port")),
    };
    if host.is_empty() {
        return Err(format!("`{authority}` has no host"));
    }
    Ok((host.to_ascii_lowercase(), port))
}

/// Resolves `host` (unless it is an address) and connects to the first of
/// its addresses that answers.
async fn connect(host: &str, port: u16) -> io::Result<TcpStream> {
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "resolving the name timed out"))??
            .collect(),
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name has no address");
    for addr in addrs {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => last = e,
            Err(_) => last = io::Error::new(io::ErrorKind::TimedOut, format!("{addr} timed out")),
        }
    }
    Err(last)
}

/// Answers with `status` and a one-line text body, and closes.
async fn respond(client: &mut UnixStream, status: u16, why: &str) -> io::Result<()> {
    let reason = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        _ => "Bad Gateway",
    };
    let body = format!("the egress proxy of Portcullis: {why}\n");
    let text = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(text.as_bytes()).await?;
    client.shutdown().await
}

#[cfg(test)]
#[path = "egress_proxy_tests.rs"]
mod tests;
