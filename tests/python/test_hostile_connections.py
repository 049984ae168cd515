"""Hostile connections and sessions against the built gateway (issue 14, item 2): idle and
slow-header sockets, more connections than the gateway should hold, a flood of sessions and
sessions that carry megabytes. Each asserts the refusal and, where it is about resources, the
gateway's open file descriptors and resident memory read from /proc."""

from __future__ import annotations

import select
import socket
import time

import pytest

import harness
import rawhttp
from trustkit import wait_until

pytestmark = pytest.mark.gateway


def fds(pid: int) -> int:
    import os

    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def open_socket(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setblocking(False)
    return s


def closed_by_peer(s: socket.socket) -> bool:
    """Whether the gateway closed this socket (EOF or reset), without blocking."""
    r, _, _ = select.select([s], [], [], 0)
    if not r:
        return False
    try:
        return s.recv(65536) == b""
    except (ConnectionResetError, BlockingIOError):
        return True
    except OSError:
        return True


def initialize(gw: harness.Gateway, capabilities: dict | None = None) -> rawhttp.RawResponse:
    body = rawhttp.initialize_body()
    if capabilities is not None:
        body["params"]["capabilities"] = capabilities
    return rawhttp.request(gw.port, "POST", "/mcp", host=f"127.0.0.1:{gw.port}", headers=rawhttp.MCP_HEADERS, body=body)


def ping(gw: harness.Gateway, sid: str) -> rawhttp.RawResponse:
    headers = {**rawhttp.MCP_HEADERS, "Mcp-Session-Id": sid}
    return rawhttp.request(
        gw.port, "POST", "/mcp", host=f"127.0.0.1:{gw.port}", headers=headers,
        body={"jsonrpc": "2.0", "id": 1, "method": "ping"},
    )


def test_the_soft_file_limit_is_raised_to_the_hard_one(gateway) -> None:
    gw = gateway("")
    with open(f"/proc/{gw.proc.pid}/limits") as f:
        line = next(l for l in f if l.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    assert soft == hard, line


def test_idle_and_slow_header_connections_are_closed(gateway) -> None:
    gw = gateway("[limits]\nheader_timeout = 1\n")
    pid = gw.proc.pid
    baseline = fds(pid)
    idle = [open_socket(gw.port) for _ in range(300)]
    slow = []
    for _ in range(50):
        s = open_socket(gw.port)
        s.send(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{gw.port}\r\n".encode())
        slow.append(s)
    # (Every socket below ends closed by the gateway: so it accepted each, then let it go.)
    # One more that keeps sending a header byte at a time: still not a complete head.
    trickle = open_socket(gw.port)
    deadline = time.monotonic() + 3
    closed = False
    while time.monotonic() < deadline and not closed:
        try:
            trickle.send(b"X")
        except OSError:
            closed = True
        time.sleep(0.2)
        closed = closed or closed_by_peer(trickle)
    assert closed, "a connection trickling its headers was not closed after header_timeout"

    every = idle + slow
    wait_until(lambda: all(closed_by_peer(s) for s in every), "the gateway to close idle and slow sockets", timeout=20)
    wait_until(lambda: fds(pid) <= baseline + 5, f"the gateway's descriptors to return to {baseline}", timeout=10)
    for s in every + [trickle]:
        s.close()
    # And it still answers.
    assert initialize(gw).status == 200


def test_connections_past_the_cap_are_closed_and_descriptors_stay_bounded(gateway) -> None:
    gw = gateway("[limits]\nmax_connections = 50\nheader_timeout = 60\n")
    pid = gw.proc.pid
    baseline = fds(pid)
    held = [open_socket(gw.port) for _ in range(400)]
    time.sleep(0)  # the accept loop works while we wait below
    wait_until(lambda: sum(closed_by_peer(s) for s in held) >= 350, "the gateway to close connections past the cap", timeout=20)
    assert fds(pid) <= baseline + 50 + 5, f"{fds(pid)} descriptors with a cap of 50 (baseline {baseline})"
    for s in held:
        s.close()
    wait_until(lambda: initialize(gw).status == 200, "the gateway to answer again once the sockets closed", timeout=20)


def test_sessions_are_capped_idle_ones_evicted_and_busy_ones_kept(gateway) -> None:
    gw = gateway("[limits]\nmax_sessions = 20\n")
    sids = []
    for _ in range(20):
        resp = initialize(gw)
        assert resp.status == 200, str(resp)
        sids.append(resp.headers["mcp-session-id"])
    for sid in sids[1:]:
        assert ping(gw, sid).status == 200
    # At the cap, a new session ends the longest-idle one (sids[0]: it was not pinged).
    newest = initialize(gw)
    assert newest.status == 200, str(newest)
    assert ping(gw, sids[0]).status == 404
    assert ping(gw, sids[1]).status == 200
    live = sids[1:] + [newest.headers["mcp-session-id"]]

    # Every session busy (a GET stream open on each): the next one is refused, clearly.
    streams = []
    for sid in live:
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
        s.sendall(
            f"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:{gw.port}\r\nAccept: text/event-stream\r\n"
            f"Mcp-Session-Id: {sid}\r\n\r\n".encode()
        )
        assert b" 200 " in s.recv(4096).split(b"\r\n")[0]
        streams.append(s)
    refused = initialize(gw)
    assert refused.status == 503, str(refused)
    err = refused.json()["error"]
    assert "max_sessions" in err["message"], err
    assert "mcp-session-id" not in refused.headers
    for s in streams:
        s.close()
    wait_until(lambda: initialize(gw).status == 200, "a session slot once the streams closed", timeout=10)


def test_idle_sessions_end_after_session_idle(gateway) -> None:
    gw = gateway("[limits]\nsession_idle = 0.5\n")
    sid = initialize(gw).headers["mcp-session-id"]
    assert ping(gw, sid).status == 200
    # Asking touches the session: ask less often than it may idle.
    wait_until(lambda: ping(gw, sid).status == 404, "the idle session to end", timeout=15, interval=1.5)


def test_a_session_cannot_store_megabytes_of_capabilities(gateway) -> None:
    gw = gateway("")
    pid = gw.proc.pid
    big = {"experimental": {"x": "a" * (1900 * 1024)}}
    before = rss_mb(pid)
    for _ in range(150):
        resp = initialize(gw, big)
        assert resp.status == 200, str(resp)[:300]
        body = resp.json()
        assert "error" in body and "max_session_bytes" in body["error"]["message"], str(body)[:300]
        assert "mcp-session-id" not in resp.headers, "a refused initialize left a session"
    grown = rss_mb(pid) - before
    assert grown < 100, f"150 refused 1.9 MB initializes left the gateway {grown:.0f} MB larger"
    ok = initialize(gw, {"roots": {}})
    assert ok.status == 200 and ok.headers.get("mcp-session-id"), str(ok)
