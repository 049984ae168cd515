"""Streamable HTTP sessions at /mcp: `initialize` opens one (Mcp-Session-Id), DELETE
ends it, an unknown or ended id gets 404, and a request without an id (other than
`initialize`) gets 400. Raw HTTP, so the headers are exactly the ones under test."""

from __future__ import annotations

import threading
import time

import pytest

import harness
import rawhttp
from admin import Admin

pytestmark = pytest.mark.gateway

TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
UNKNOWN_ID = "0123456789abcdef0123456789abcdef"


class Http:
    """Raw requests to one gateway's /mcp, addressed to localhost."""

    def __init__(self, gw: harness.Gateway) -> None:
        self.port = gw.port
        self.host = f"localhost:{gw.port}"

    def post(self, body: dict, session: str | None = None) -> rawhttp.RawResponse:
        headers = dict(rawhttp.MCP_HEADERS)
        if session is not None:
            headers["Mcp-Session-Id"] = session
        return rawhttp.request(self.port, "POST", "/mcp", host=self.host, headers=headers, body=body)

    def get_stream_status(self, session: str | None) -> rawhttp.RawResponse:
        headers = {"Accept": "text/event-stream"}
        if session is not None:
            headers["Mcp-Session-Id"] = session
        return rawhttp.request(self.port, "GET", "/mcp", host=self.host, headers=headers)

    def delete(self, session: str | None) -> rawhttp.RawResponse:
        headers = {} if session is None else {"Mcp-Session-Id": session}
        return rawhttp.request(self.port, "DELETE", "/mcp", host=self.host, headers=headers)

    def open_session(self) -> str:
        resp = self.post(rawhttp.initialize_body())
        assert resp.status == 200, str(resp)
        session = resp.headers.get("mcp-session-id")
        assert session, f"initialize returned no Mcp-Session-Id: {resp}"
        initialized = self.post(INITIALIZED, session)
        assert initialized.status == 202, str(initialized)
        return session


def assert_jsonrpc_error(resp: rawhttp.RawResponse, status: int) -> dict:
    assert resp.status == status, f"expected HTTP {status}, got {resp}"
    body = resp.json()
    assert body.get("jsonrpc") == "2.0" and "error" in body, f"not a JSON-RPC error: {resp}"
    assert body["error"]["message"], str(resp)
    return body["error"]


@pytest.fixture
def http(gateway) -> Http:
    return Http(gateway(harness.time_stdio()))


def test_delete_ends_the_session(http: Http) -> None:
    session = http.open_session()
    listed = http.post(TOOLS_LIST, session)
    assert listed.status == 200, str(listed)
    assert "time__get_current_time" in {t["name"] for t in listed.json()["result"]["tools"]}

    deleted = http.delete(session)
    assert deleted.status in (200, 204), str(deleted)

    assert_jsonrpc_error(http.post(TOOLS_LIST, session), 404)
    assert_jsonrpc_error(http.get_stream_status(session), 404)
    assert_jsonrpc_error(http.delete(session), 404)


def test_deleting_one_session_leaves_the_others(http: Http) -> None:
    a, b = http.open_session(), http.open_session()
    assert a != b
    assert http.delete(a).status in (200, 204)
    still = http.post(TOOLS_LIST, b)
    assert still.status == 200, str(still)
    assert still.json()["result"]["tools"], "the remaining session lists no tools"


@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
def test_unknown_session_id_is_404(http: Http, method: str) -> None:
    resp = {
        "POST": lambda: http.post(TOOLS_LIST, UNKNOWN_ID),
        "GET": lambda: http.get_stream_status(UNKNOWN_ID),
        "DELETE": lambda: http.delete(UNKNOWN_ID),
    }[method]()
    assert_jsonrpc_error(resp, 404)


@pytest.mark.parametrize(
    "what", ["request", "notification", "get-stream", "delete"]
)
def test_missing_session_id_is_400(http: Http, what: str) -> None:
    resp = {
        "request": lambda: http.post(TOOLS_LIST),
        "notification": lambda: http.post(INITIALIZED),
        "get-stream": lambda: http.get_stream_status(None),
        "delete": lambda: http.delete(None),
    }[what]()
    error = assert_jsonrpc_error(resp, 400)
    assert "Mcp-Session-Id" in error["message"], error


def test_initialize_needs_no_session_id_and_each_gets_a_new_one(http: Http) -> None:
    ids = {http.open_session() for _ in range(3)}
    assert len(ids) == 3


@pytest.fixture
def http_everything(gateway) -> tuple[Http, harness.Gateway]:
    gw = gateway(harness.everything_stdio())
    return Http(gw), gw


def _long_call(http: Http, session: str, out: dict) -> None:
    call = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        # A step every 0.1 s, each reported on the answer's stream.
        "params": {
            "name": "everything__trigger-long-running-operation",
            "arguments": {"duration": 20, "steps": 200},
            "_meta": {"progressToken": "long-call"},
        },
    }
    headers = {**rawhttp.MCP_HEADERS, "Mcp-Session-Id": session}
    out["response"] = rawhttp.request(http.port, "POST", "/mcp", host=http.host, headers=headers, body=call, received=out["received"])
    out["ended"] = time.monotonic()


def _start_long_call(http: Http, session: str, gw: harness.Gateway) -> tuple[threading.Thread, dict]:
    Admin.of(gw).wait_ready("everything")
    out: dict = {"received": bytearray()}
    thread = threading.Thread(target=_long_call, args=(http, session, out), daemon=True)
    thread.start()
    # The call is in flight on the upstream once it reports progress.
    deadline = time.monotonic() + 10
    while b"notifications/progress" not in bytes(out["received"]):
        assert thread.is_alive(), f"the 20 s call ended early: {out.get('response')}"
        assert time.monotonic() < deadline, f"no progress on the call within 10 s: {bytes(out['received'])!r}"
        time.sleep(0.05)
    assert thread.is_alive(), f"the 20 s call ended early: {out.get('response')}"
    return thread, out


def test_delete_ends_calls_in_flight_and_keeps_the_upstream(http_everything) -> None:
    http, gw = http_everything
    session = http.open_session()
    before = Admin.of(gw).server("everything")
    thread, out = _start_long_call(http, session, gw)

    deleted_at = time.monotonic()
    assert http.delete(session).status in (200, 204)
    thread.join(timeout=5)
    assert not thread.is_alive(), "the call in flight was still open 5 s after its session was deleted"
    assert out["ended"] - deleted_at < 2.0, f"the call ended {out['ended'] - deleted_at:.2f} s after DELETE"

    after = Admin.of(gw).server("everything")
    assert after["state"] == "ready" and after["pid"] == before["pid"] and after["restarts"] == before["restarts"], (
        f"ending a session disturbed the upstream: before {before}, after {after}"
    )


def test_a_call_ended_by_delete_is_not_blamed_on_the_upstream(http_everything) -> None:
    http, gw = http_everything
    session = http.open_session()
    thread, out = _start_long_call(http, session, gw)
    assert http.delete(session).status in (200, 204)
    thread.join(timeout=5)
    body = out["response"].body.decode()
    assert '"id":7' in body, f"no answer to the call: {out['response']}"
    assert "stopped while handling" not in body and "restarts it" not in body, body
