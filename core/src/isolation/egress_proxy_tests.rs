//! The proxy against real sockets: a test HTTP server on 127.0.0.1 and a
//! client on the proxy's Unix socket.

use parking_lot::Mutex;

use super::*;
use crate::config::{Network, NetworkConfig};

fn allow(items: &[String]) -> EgressAllowList {
    match Network::resolve(Some(&NetworkConfig::AllowList(items.to_vec()))).unwrap() {
        Network::Allow(l) => l,
        other => panic!("{other:?}"),
    }
}

/// A server that answers each connection with what it read of the request
/// head, then closes.
async fn echo_head() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            let body = String::from_utf8_lossy(&got).into_owned();
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(reply.as_bytes()).await;
        }
    });
    (port, task)
}

struct Proxy {
    dir: tempfile::TempDir,
    refused: Arc<Mutex<Vec<EgressRefusal>>>,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

fn proxy(patterns: &[String]) -> Proxy {
    let dir = tempfile::tempdir().unwrap();
    let refused = Arc::new(Mutex::new(Vec::new()));
    let sink = refused.clone();
    let (cancel, tasks) = (CancellationToken::new(), TaskTracker::new());
    EgressProxy::bind(dir.path(), false).unwrap().serve(
        "gh".into(),
        allow(patterns),
        Arc::new(move |r| sink.lock().push(r)),
        &tasks,
        cancel.clone(),
    );
    Proxy {
        dir,
        refused,
        cancel,
        tasks,
    }
}

/// Sends `request` through the proxy and reads until it closes.
async fn ask(p: &Proxy, request: &str) -> String {
    let mut s = tokio::net::UnixStream::connect(p.dir.path().join(SOCKET_NAME))
        .await
        .unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn an_allowed_host_is_reached_and_the_rest_refused_and_reported() {
    let (port, server) = echo_head().await;
    let p = proxy(&[format!("127.0.0.1:{port}"), format!("localhost:{port}")]);

    // A tunnel: the proxy says yes, then carries the bytes both ways.
    let got = ask(
        &p,
        &format!(
            "CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: x\r\n\r\nGET /tunnel HTTP/1.1\r\n\r\n"
        ),
    )
    .await;
    assert!(
        got.starts_with("HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK"),
        "{got}"
    );
    assert!(got.contains("GET /tunnel HTTP/1.1"), "{got}");

    // By name, resolved by the proxy.
    let got = ask(
        &p,
        &format!("CONNECT localhost:{port} HTTP/1.1\r\n\r\nGET /n HTTP/1.1\r\n\r\n"),
    )
    .await;
    assert!(got.contains("GET /n HTTP/1.1"), "{got}");

    // Plain HTTP: forwarded in origin-form, without proxy headers, closed after one.
    let got = ask(
        &p,
        &format!("GET http://127.0.0.1:{port}/plain?q=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: x\r\n\r\n"),
    )
    .await;
    assert!(got.starts_with("HTTP/1.1 200 OK"), "{got}");
    assert!(got.contains("GET /plain?q=1 HTTP/1.1\r\n"), "{got}");
    assert!(got.contains("Connection: close\r\n"), "{got}");
    assert!(!got.to_ascii_lowercase().contains("proxy-"), "{got}");
    assert!(p.refused.lock().is_empty());

    // Another port, another name, another address: refused, reported, never connected.
    for (target, host, refused_port) in [
        (
            format!("127.0.0.1:{}", port.wrapping_add(1).max(1)),
            "127.0.0.1".to_owned(),
            port.wrapping_add(1).max(1),
        ),
        (
            "elsewhere.example:443".to_owned(),
            "elsewhere.example".to_owned(),
            443,
        ),
        (format!("[::1]:{port}"), "::1".to_owned(), port),
    ] {
        let got = ask(&p, &format!("CONNECT {target} HTTP/1.1\r\n\r\n")).await;
        assert!(got.starts_with("HTTP/1.1 403 Forbidden"), "{target}: {got}");
        assert!(
            got.contains("not on this server's network allow list"),
            "{got}"
        );
        let last = p.refused.lock().last().cloned().unwrap();
        assert_eq!(
            (last.server.as_str(), last.host.as_str(), last.port),
            ("gh", host.as_str(), refused_port)
        );
    }
    let got = ask(&p, "GET http://elsewhere.example/ HTTP/1.1\r\n\r\n").await;
    assert!(got.starts_with("HTTP/1.1 403"), "{got}");
    assert_eq!(
        p.refused.lock().last().unwrap().port,
        80,
        "plain HTTP is port 80"
    );
    assert_eq!(p.refused.lock().len(), 4);

    // Not a proxy request at all.
    for bad in [
        "GET /relative HTTP/1.1\r\n\r\n",
        "GET https://h/ HTTP/1.1\r\n\r\n",
        "CONNECT nohost HTTP/1.1\r\n\r\n",
        "CONNECT u@h:443 HTTP/1.1\r\n\r\n",
    ] {
        let got = ask(&p, bad).await;
        assert!(got.starts_with("HTTP/1.1 400"), "{bad}: {got}");
    }

    let socket = p.dir.path().join(SOCKET_NAME);
    p.cancel.cancel();
    p.tasks.close();
    tokio::time::timeout(Duration::from_secs(5), p.tasks.wait())
        .await
        .expect("the proxy stops when its server's connection ends");
    assert!(!socket.exists(), "the socket is removed");
    server.abort();
}

#[tokio::test]
async fn a_stopping_proxy_leaves_the_socket_of_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let (first_cancel, first_tasks) = (CancellationToken::new(), TaskTracker::new());
    let tasks = TaskTracker::new();
    let first = EgressProxy::bind(dir.path(), false).unwrap();
    // The server restarts: the next proxy binds the path before the first has stopped.
    let second = EgressProxy::bind(dir.path(), false).unwrap();
    let sink: RefusalSink = Arc::new(|_| {});
    first.serve(
        "s".into(),
        allow(&["a.example".into()]),
        sink.clone(),
        &first_tasks,
        first_cancel.clone(),
    );
    let second_cancel = CancellationToken::new();
    second.serve(
        "s".into(),
        allow(&["a.example".into()]),
        sink,
        &tasks,
        second_cancel.clone(),
    );
    first_cancel.cancel();
    first_tasks.close();
    first_tasks.wait().await;
    let socket = dir.path().join(SOCKET_NAME);
    assert!(
        socket.exists(),
        "the first proxy left the second's socket alone"
    );
    let got = {
        let mut s = tokio::net::UnixStream::connect(&socket).await.unwrap();
        s.write_all(b"CONNECT b.example:443 HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    };
    assert!(got.starts_with("HTTP/1.1 403"), "{got}");
    second_cancel.cancel();
    tasks.close();
    tasks.wait().await;
    assert!(!socket.exists());
}

#[test]
fn a_long_folder_path_still_binds() {
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("a".repeat(60)).join("b".repeat(60));
    std::fs::create_dir_all(&deep).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let p = EgressProxy::bind(&deep, false).unwrap();
        let path = p.path();
        assert!(path.exists() && path.as_os_str().len() > 108);
    });
}
