"""The admin API (<api_url> from gateway.json): every route wants the bearer token
from admin.token, a foreign Host or Origin is refused even with the token, and
`GET events` streams what happens (`tools_pending` when a new server's tools appear,
`call_finished` after a call)."""

from __future__ import annotations

import shlex
import sys

import pytest

import rawhttp
import trustkit as tk
from admin import Admin
from trustkit import EventStream, McpSession, MutableFixture

pytestmark = pytest.mark.gateway

SERVER = "mut"

GETS = ["servers", "tools", f"tools?server={SERVER}", "tools/pending", f"tools/diff?server={SERVER}&tool=echo", "search?q=echo&limit=5", "activity?limit=5", "events"]
POSTS = [
    (f"servers/{SERVER}/approve", {"all_tools": True}),
    (f"servers/{SERVER}/approve", {}),
    (f"servers/{SERVER}/block", {}),
    (f"servers/{SERVER}/block", {"tools": ["echo"]}),
]


@pytest.fixture
def started(gateway, tmp_path):
    """A gateway whose fixture server is trusted, with its tool `echo` pending."""
    fx = MutableFixture.create(tmp_path / "fx", [tk.tool_def("echo")])
    gw = gateway(fx.server_table(SERVER), trust=False)
    admin = Admin.of(gw)
    assert admin.post(f"servers/{SERVER}/approve", {}).status_code == 200
    admin.wait_ready(SERVER)
    tk.wait_until(lambda: tk.tool_states(admin, SERVER) == {"echo": "pending"}, "echo to be pending")
    return gw, admin, fx


def state(admin: Admin) -> tuple:
    return admin.server(SERVER)["state"], tk.tool_states(admin, SERVER)


def bad_authorizations(token: str) -> dict[str, dict[str, str]]:
    wrong = ("0" if token[-1] != "0" else "1") * len(token)
    return {
        "none": {},
        "empty bearer": {"Authorization": "Bearer "},
        "wrong token": {"Authorization": f"Bearer {wrong}"},
        "token minus its last character": {"Authorization": f"Bearer {token[:-1]}"},
        "token plus a character": {"Authorization": f"Bearer {token}0"},
        "token without Bearer": {"Authorization": token},
        "basic auth": {"Authorization": f"Basic {token}"},
        "lower-case scheme, wrong token": {"Authorization": f"bearer {wrong}"},
        "token in another header": {"X-Admin-Token": token, "X-Portcullis-Actor": "cli"},
    }


def test_every_route_needs_the_token(started):
    gw, admin, fx = started
    before = state(admin)
    host = f"127.0.0.1:{gw.port}"
    for what, headers in bad_authorizations(admin.token).items():
        for path in GETS:
            resp = rawhttp.request(gw.port, "GET", f"/api/v1/{path}", host=host, headers=headers)
            assert resp.status == 401, f"GET {path} with {what}: {resp}"
            assert "token" in resp.json()["error"], str(resp)
        for path, body in POSTS:
            headers = {**headers, "X-Portcullis-Actor": "cli", "Content-Type": "application/json"}
            resp = rawhttp.request(gw.port, "POST", f"/api/v1/{path}", host=host, headers=headers, body=body)
            assert resp.status == 401, f"POST {path} with {what}: {resp}"
    assert state(admin) == before == ("ready", {"echo": "pending"}), "a refused request changed something"
    decisions = [e for e in admin.get("activity?limit=1000").json() if e["kind"] == "decision"]
    assert len(decisions) == 1, f"only the fixture's own approval of the server may be logged: {decisions}"
    # The token itself works.
    assert admin.get("tools/pending").status_code == 200


def test_foreign_host_or_origin_is_refused_even_with_the_token(started):
    gw, admin, fx = started
    auth = {"Authorization": f"Bearer {admin.token}", "Content-Type": "application/json", "X-Portcullis-Actor": "cli"}
    local = f"127.0.0.1:{gw.port}"
    cases = [
        ("foreign Host", f"evil.example:{gw.port}", None),
        ("rebinding Host", f"localhost.evil.example:{gw.port}", None),
        ("foreign Origin", local, "http://evil.example"),
        ("null Origin", local, "null"),
        ("look-alike Origin", local, "http://127.0.0.1.evil.example"),
    ]
    before = state(admin)
    for what, host, origin in cases:
        headers = dict(auth)
        if origin is not None:
            headers["Origin"] = origin
        for path in ("servers", "tools/pending", "events"):
            resp = rawhttp.request(gw.port, "GET", f"/api/v1/{path}", host=host, headers=headers)
            assert resp.status == 403, f"GET {path} with {what}: {resp}"
        for path, body in POSTS:
            resp = rawhttp.request(gw.port, "POST", f"/api/v1/{path}", host=host, headers=headers, body=body)
            assert resp.status == 403, f"POST {path} with {what}: {resp}"
    assert state(admin) == before, "a refused request changed something"
    # The same request from a loopback page with a loopback Host is served.
    resp = rawhttp.request(gw.port, "GET", "/api/v1/tools/pending", host=local, headers={**auth, "Origin": f"http://localhost:{gw.port}"})
    assert resp.status == 200, str(resp)


def test_events_stream_tools_pending_and_call_finished(started, tmp_path):
    gw, admin, fx = started
    stream = EventStream(f"{admin.api_url}/events", admin.token).start()
    try:
        newcomer = MutableFixture.create(tmp_path / "newcomer", [tk.tool_def("fresh_a"), tk.tool_def("fresh_b")])
        tk.cli(gw.home, "upstream", "add", "--name", "newcomer", "--command", sys.executable, "--args", shlex.join(newcomer.argv()))
        pending = stream.wait_for(
            lambda e: e.get("type") == "tools_pending" and e.get("server") == "newcomer", "a tools_pending event for `newcomer`"
        )
        assert sorted(pending["tools"]) == ["fresh_a", "fresh_b"], pending
        stream.wait_for(
            lambda e: e.get("type") == "server_state_changed" and e.get("server") == "newcomer" and e.get("state") == "ready",
            "newcomer to be reported ready",
        )

        tk.cli(gw.home, "upstream", "approve", "--name", "newcomer", "--tools", "fresh_a")
        with McpSession(gw.url) as s:
            s.call("newcomer__fresh_a", {"text": "x"})
            with pytest.raises(tk.RpcError):
                s.call("newcomer__fresh_b", {"text": "x"})
        ok = stream.wait_for(lambda e: e.get("type") == "call_finished" and e.get("tool") == "fresh_a", "call_finished for fresh_a")
        assert ok["server"] == "newcomer" and ok["outcome"] == "ok" and isinstance(ok["duration_ms"], int), ok
        refused = stream.wait_for(lambda e: e.get("type") == "call_finished" and e.get("tool") == "fresh_b", "call_finished for fresh_b")
        assert refused["outcome"] == "blocked", refused

        # A changed definition is announced as well.
        newcomer.set_tools([tk.tool_def("fresh_a", "Now it does something else."), tk.tool_def("fresh_b")])
        modified = stream.wait_for(lambda e: e.get("type") == "tools_modified" and e.get("server") == "newcomer", "tools_modified")
        assert modified["tools"] == ["fresh_a"], modified
    finally:
        stream.stop()
