"""Hostile requests against the built gateway (issue 14, item 3): what a local web page or a
careless client may send to /mcp, and the refusal each gets. Raw HTTP, so every header and
byte is exactly the test's; a misbehaving upstream of our own (fixtures/hostile_upstream.py)
counts what reached it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import harness
import rawhttp
from trustkit import McpSession

pytestmark = pytest.mark.gateway

HOSTILE = Path(__file__).parent / "fixtures" / "hostile_upstream.py"


def hostile_table(name: str = "h") -> str:
    return harness.server_table(name, command=sys.executable, args=[str(HOSTILE)])


@pytest.fixture
def gw(gateway) -> harness.Gateway:
    return gateway(
        '[gateway]\nmax_message_bytes = 4194304\ntimeout = 5\nallowed_origins = ["http://localhost:5173"]\n\n'
        + hostile_table()
    )


def host(gw: harness.Gateway) -> str:
    return f"127.0.0.1:{gw.port}"


def post(gw, body, *, headers: dict | None = None, host_header: str | None = None) -> rawhttp.RawResponse:
    h = dict(rawhttp.MCP_HEADERS)
    h.update(headers or {})
    return rawhttp.request(gw.port, "POST", "/mcp", host=host_header or host(gw), headers=h, body=body)


def session(gw) -> tuple[str, dict]:
    resp = post(gw, rawhttp.initialize_body())
    assert resp.status == 200, str(resp)
    sid = resp.headers["mcp-session-id"]
    return sid, {"Mcp-Session-Id": sid}


def call_body(rid, name: str, arguments: dict | None = None) -> dict:
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": {"name": name, "arguments": arguments or {}}}


def peak(gw) -> int:
    with McpSession(gw.url) as s:
        return int(s.call("h__peak")["content"][0]["text"])


def rpc_error_of(resp: rawhttp.RawResponse) -> dict:
    assert resp.headers.get("content-type", "").startswith("application/json"), str(resp)
    body = resp.json()
    assert body["jsonrpc"] == "2.0" and "error" in body, str(resp)
    return body["error"]


def test_a_post_that_is_not_json_is_refused_with_415_and_runs_nothing(gw) -> None:
    # A page may send text/plain without a CORS preflight: that is the attack.
    modern_call = {**call_body(1, "h__slow", {"seconds": 0.01}), "params": {
        "name": "h__slow", "arguments": {"seconds": 0.01},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}}
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None):
        headers = {"Accept": "application/json, text/event-stream", "Origin": f"http://{host(gw)}"}
        if ctype:
            headers["Content-Type"] = ctype
        resp = rawhttp.request(gw.port, "POST", "/mcp", host=host(gw), headers=headers, body=json.dumps(modern_call))
        assert resp.status == 415, f"{ctype}: {resp}"
        assert "Content-Type: application/json" in rpc_error_of(resp)["message"]
    assert peak(gw) == 0, "a refused POST reached the upstream"
    ok = post(gw, rawhttp.initialize_body(), headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok.status == 200, str(ok)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://localhost:3000", False),
        ("http://127.0.0.1:1", False),
        ("tauri://some-other-app", False),
        ("null", False),
        ("http://localhost:{port}", True),
        ("http://127.0.0.1:{port}", True),
        ("tauri://localhost", False),  # every Tauri app's origin; the desktop app's windows use the gateway's own
        ("http://localhost:5173", True),  # listed in allowed_origins
    ],
)
def test_only_the_gateways_own_and_listed_origins_pass(gw, origin: str, allowed: bool) -> None:
    origin = origin.format(port=gw.port)
    resp = post(gw, rawhttp.initialize_body(), headers={"Origin": origin})
    if allowed:
        assert resp.status == 200, f"{origin}: {resp}"
    else:
        assert resp.status == 403, f"{origin}: {resp}"
        assert origin.encode() in resp.body and b"allowed_origins" in resp.body, str(resp)
        assert "mcp-session-id" not in resp.headers


@pytest.mark.parametrize("bad_host", ["[::1]:@evil.com", "localhost:@evil.com", "[::1]:80@evil.com", "localhost:1:2", "user@localhost"])
@pytest.mark.parametrize("path", ["/mcp", "/api/v1/servers"])
def test_a_host_that_is_not_strictly_one_loopback_authority_is_refused(gw, bad_host: str, path: str) -> None:
    method = "POST" if path == "/mcp" else "GET"
    body = rawhttp.initialize_body() if path == "/mcp" else None
    resp = rawhttp.request(gw.port, method, path, host=bad_host, headers=rawhttp.MCP_HEADERS, body=body)
    assert resp.status == 403, f"{bad_host}: {resp}"
    assert b"not a loopback address" in resp.body


def test_deeply_nested_arguments_and_ids_are_refused_before_the_upstream(gw) -> None:
    _, sid = session(gw)
    before = {v["name"]: v["pid"] for v in harness.admin_call(gw, "GET", "servers")}["h"]
    deep_args = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"h__echo","arguments":{"text":%s1%s}}}' % (
        "[" * 10_000, "]" * 10_000)
    resp = post(gw, deep_args, headers=sid)
    assert resp.status == 400, str(resp)
    assert "deeper than the limit of 128" in rpc_error_of(resp)["message"]

    deep_id = '{"jsonrpc":"2.0","id":%s1%s,"method":"ping"}' % ("[" * 100_000, "]" * 100_000)
    resp = post(gw, deep_id, headers=sid)
    assert resp.status == 400 and "deeper" in rpc_error_of(resp)["message"], str(resp)

    for bad_id in ("[1]", "{}", "true", "null"):
        resp = post(gw, '{"jsonrpc":"2.0","id":%s,"method":"ping"}' % bad_id, headers=sid)
        assert resp.status == 400, f"{bad_id}: {resp}"
        assert "string or a number" in rpc_error_of(resp)["message"], str(resp)

    with McpSession(gw.url) as s:  # the upstream is alive and the same process
        assert s.call("h__echo", {"text": "still here"})["content"][0]["text"] == "still here"
    after = {v["name"]: v["pid"] for v in harness.admin_call(gw, "GET", "servers")}["h"]
    assert before == after


def test_a_deeply_nested_answer_from_an_upstream_is_not_passed_on(gw) -> None:
    with McpSession(gw.url) as s:
        with pytest.raises(Exception) as refused:
            s.call("h__deep", {"depth": 10_000})
        assert "h__deep" in str(refused.value) or "time" in str(refused.value).lower()
        assert s.call("h__echo", {"text": "ok"})["content"][0]["text"] == "ok"
    assert "deeper than the limit" in gw.stderr_text()


def test_batches_are_capped_in_size_and_in_concurrency(gw) -> None:
    _, sid = session(gw)
    too_many = [{"jsonrpc": "2.0", "id": i, "method": "ping"} for i in range(65)]
    resp = post(gw, json.dumps(too_many), headers=sid)
    assert resp.status == 400, str(resp)
    assert "max_batch" in rpc_error_of(resp)["message"]

    calls = [call_body(i, "h__slow", {"seconds": 0.2}) for i in range(64)]
    resp = post(gw, json.dumps(calls), headers=sid)
    assert resp.status == 200, str(resp)
    answers = resp.json()
    assert [a["id"] for a in answers] == list(range(64)), "answers lost or out of order"
    assert all("result" in a for a in answers), answers[:3]
    seen = peak(gw)
    assert 1 <= seen <= 8, f"{seen} calls of one batch ran upstream at once; the cap is 8"


def test_the_body_limit_is_max_message_bytes_with_a_json_rpc_error(gw) -> None:
    _, sid = session(gw)
    # 3 MiB: over the web framework's 2 MiB default, under the configured 4 MiB.
    text = "a" * (3 << 20)
    resp = post(gw, json.dumps(call_body(1, "h__echo", {"text": text})), headers=sid)
    assert resp.status == 200, str(resp)[:300]
    assert len(resp.json()["result"]["content"][0]["text"]) == len(text)

    # 5 MiB announced: refused from its Content-Length, before the gateway reads it.
    big = json.dumps(call_body(2, "h__echo", {"text": "a" * (5 << 20)})).encode()
    resp = send_head_then_read(gw, sid, {"Content-Length": str(len(big))}, big[:65536])
    assert resp.status == 413, str(resp)[:300]
    err = rpc_error_of(resp)
    assert err["code"] == -32600 and "max_message_bytes" in err["message"], err

    # Chunked, with no length said: refused as the running count passes the limit.
    chunk = b"a" * (1 << 20)
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(5))
    resp = send_head_then_read(gw, sid, {"Transfer-Encoding": "chunked"}, body)
    assert resp.status == 413, str(resp)[:300]
    assert "max_message_bytes" in rpc_error_of(resp)["message"]


def send_head_then_read(gw, sid: dict, framing: dict, body: bytes) -> rawhttp.RawResponse:
    """Sends the head and as much of `body` as the gateway takes, then reads its answer."""
    import socket

    head = [f"POST /mcp HTTP/1.1", f"Host: {host(gw)}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in {**rawhttp.MCP_HEADERS, **sid, **framing}.items()]
    with socket.create_connection(("127.0.0.1", gw.port), timeout=30) as s:
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            s.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it answered and closed before taking all of it
        received = bytearray()
        try:
            while chunk := s.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return rawhttp._parse(bytes(received))
