"""One tool call that floods (issue 14, item 1): the upstream sends 1,000 notifications of
200 KB while other clients are connected and read nothing. The gateway's memory, read from
/proc while it happens, stays bounded, returns near idle afterwards, and the messages go
only where they belong."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import httpx2
import pytest

import harness
import rawhttp

pytestmark = pytest.mark.gateway

HOSTILE = Path(__file__).parent / "fixtures" / "hostile_upstream.py"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def idle_rss_mb(pid: int, timeout: float = 10.0) -> float:
    """The RSS of a process once it holds steady (three readings 0.1 s apart within 1 MB):
    the gateway is done with what came before, and this is its idle size."""
    deadline = time.monotonic() + timeout
    readings = [rss_mb(pid)]
    while len(readings) < 3 or max(readings) - min(readings) >= 1.0:
        assert time.monotonic() < deadline, f"the RSS of {pid} did not hold steady within {timeout} s: {readings}"
        time.sleep(0.1)
        readings = [*readings, rss_mb(pid)][-3:]
    return readings[-1]


class Sampler:
    """The peak RSS of a process, sampled every 20 ms on a thread."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.running = pid, 0.0, True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)

    def stop(self) -> float:
        self.running = False
        self.thread.join()
        return self.peak


def new_session(gw, level: str | None = None) -> str:
    resp = rawhttp.request(gw.port, "POST", "/mcp", host=f"127.0.0.1:{gw.port}", headers=rawhttp.MCP_HEADERS,
                           body=rawhttp.initialize_body())
    sid = resp.headers["mcp-session-id"]
    if level:
        r = rawhttp.request(gw.port, "POST", "/mcp", host=f"127.0.0.1:{gw.port}",
                            headers={**rawhttp.MCP_HEADERS, "Mcp-Session-Id": sid},
                            body={"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": level}})
        assert r.status == 200, str(r)
    return sid


def flood_call(gw, sid: str, count: int, size: int) -> tuple[int, dict]:
    """Calls h__flood as a client that reads its answer stream; returns (log messages seen, final answer)."""
    seen, answer = 0, None
    body = {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
            "params": {"name": "h__flood", "arguments": {"count": count, "size": size, "kind": "message"}}}
    with httpx2.Client(timeout=120, trust_env=False) as http:
        with http.stream("POST", gw.url, headers={**rawhttp.MCP_HEADERS, "Mcp-Session-Id": sid},
                         content=json.dumps(body)) as resp:
            assert resp.status_code == 200
            for line in resp.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("method") == "notifications/message":
                    seen += 1
                elif msg.get("id") == 9:
                    answer = msg
    return seen, answer


def queued_for(gw, sid: str, wait: float = 1.0) -> int:
    """How many messages wait on a session's GET stream (read for `wait` seconds)."""
    import socket

    s = socket.create_connection(("127.0.0.1", gw.port), timeout=wait)
    s.sendall(f"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:{gw.port}\r\nAccept: text/event-stream\r\n"
              f"Mcp-Session-Id: {sid}\r\n\r\n".encode())
    data = b""
    deadline = time.monotonic() + wait
    try:
        while time.monotonic() < deadline:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        pass
    finally:
        s.close()
    return data.count(b"notifications/message")


def test_a_flood_of_notifications_keeps_memory_bounded_and_reaches_only_the_caller(gateway) -> None:
    gw = gateway(harness.server_table("h", command=sys.executable, args=[str(HOSTILE)]))
    pid = gw.proc.pid
    bystanders = [new_session(gw) for _ in range(10)]
    listener = new_session(gw, level="info")  # asked for log messages, but has no call in flight
    caller = new_session(gw)
    idle = idle_rss_mb(pid)

    sampler = Sampler(pid)
    seen, answer = flood_call(gw, caller, 1000, 200_000)
    peak = sampler.stop()
    print(f"flood of 1000 x 200 KB: idle {idle:.0f} MB, peak {peak:.0f} MB, {seen} messages reached the caller")
    assert answer is not None and "result" in answer, answer
    assert seen > 0, "the caller got none of its call's log messages"
    assert peak < 200, f"the gateway reached {peak:.0f} MB during the flood (idle {idle:.0f} MB)"

    # Bystanders and the listener got nothing of another client's call.
    for sid in bystanders + [listener]:
        assert queued_for(gw, sid, wait=0.5) == 0

    def settled() -> bool:
        return rss_mb(pid) < idle + 60

    deadline = time.monotonic() + 20
    while not settled() and time.monotonic() < deadline:
        time.sleep(0.2)
    print(f"after the flood: {rss_mb(pid):.0f} MB")
    assert settled(), f"after the flood the gateway holds {rss_mb(pid):.0f} MB (idle {idle:.0f} MB)"


def test_a_caller_that_does_not_read_costs_at_most_its_queue_budget(gateway) -> None:
    import socket

    gw = gateway("[limits]\nsession_queue_bytes = 1048576\nqueue_bytes = 4194304\n\n"
                 + harness.server_table("h", command=sys.executable, args=[str(HOSTILE)]))
    pid = gw.proc.pid
    caller = new_session(gw)
    idle = idle_rss_mb(pid)
    body = json.dumps({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                       "params": {"name": "h__flood", "arguments": {"count": 1000, "size": 200_000}}}).encode()
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=60)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    head = (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{gw.port}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json, text/event-stream\r\nMcp-Session-Id: {caller}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    sampler = Sampler(pid)
    try:
        s.sendall(head + body)  # and read nothing
        deadline = time.monotonic() + 60
        while "a message for the client was dropped" not in gw.stderr_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        peak = sampler.stop()
    finally:
        s.close()
    log = gw.stderr_text()
    assert "a message for the client was dropped" in log, log[-2000:]
    assert "session_queue_bytes" in log
    assert peak < idle + 100, f"peak {peak:.0f} MB with a 1 MiB queue budget (idle {idle:.0f} MB)"
