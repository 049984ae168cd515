"""The activity log: every tools/call (ok, blocked, error) and every decision, with
who took it (cli, window, api), as `portcullis activity --json` shows it; and
`portcullis activity --follow` printing a new call as it happens."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import httpx2
import pytest

import harness
import trustkit as tk
from admin import Admin
from trustkit import McpSession, MutableFixture, RpcError

pytestmark = pytest.mark.gateway

SERVER = "mut"
FOLLOW_WITHIN = 5.0


def activity(home) -> list[dict]:
    """`portcullis activity --json`: one JSON object per line."""
    out = tk.cli(home, "activity", "--json", "--limit", "1000").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def post_as(admin: Admin, path: str, body: dict, actor: str | None) -> dict:
    headers = {"Authorization": f"Bearer {admin.token}"}
    if actor is not None:
        headers["X-Portcullis-Actor"] = actor
    resp = httpx2.post(f"{admin.api_url}/{path}", headers=headers, json=body, timeout=30, trust_env=False)
    assert resp.status_code == 200, f"POST {path}: HTTP {resp.status_code} {resp.text}"
    return resp.json()


@pytest.fixture
def started(gateway, tmp_path):
    fx = MutableFixture.create(tmp_path / "fx", [tk.tool_def("ok"), tk.tool_def("held")])
    gw = gateway(fx.server_table(SERVER), trust=False)
    admin = Admin.of(gw)
    tk.cli(gw.home, "upstream", "approve", "--name", SERVER)  # the server, by a person at the CLI
    admin.wait_ready(SERVER)
    tk.wait_until(lambda: set(tk.tool_states(admin, SERVER)) == {"ok", "held"}, "the tools to be seen")
    return gw, admin, fx


def test_calls_and_decisions_are_logged_with_outcome_and_actor(started):
    gw, admin, fx = started
    tk.cli(gw.home, "upstream", "approve", "--name", SERVER, "--tools", "ok")  # cli
    # A client's claim to be the window counts for nothing: the admin token's channel is `api`.
    post_as(admin, f"servers/{SERVER}/approve", {"tools": admin.shown(SERVER, ["held"])}, "window")
    post_as(admin, f"servers/{SERVER}/block", {"tools": ["held"]}, None)  # api: no actor header

    with McpSession(gw.url, client_name="activity-test-client") as s:
        s.call(f"{SERVER}__ok", {"text": "fine"})
        with pytest.raises(RpcError) as refused:
            s.call(f"{SERVER}__held")
        assert refused.value.code == tk.NOT_APPROVED
        with pytest.raises(RpcError) as failed:
            s.call(f"{SERVER}__ok", {"fail": "the disk is on fire"})
        assert "the disk is on fire" in failed.value.message

    def calls() -> list[dict]:
        return [e for e in activity(gw.home) if e["kind"] == "call" and e["server"] == SERVER]

    logged = tk.wait_until(lambda: (c := calls()) and len(c) >= 3 and c, "three calls in the activity log")
    outcomes = [(e["tool"], e["outcome"]["status"]) for e in logged]
    assert outcomes == [("ok", "ok"), ("held", "blocked"), ("ok", "error")], outcomes
    assert "the disk is on fire" in logged[2]["outcome"]["message"], logged[2]
    assert all(e["client_name"] == "activity-test-client" for e in logged), logged
    assert len({e["session"] for e in logged}) == 1 and logged[0]["session"], logged
    assert [c["tool"] for c in fx.calls()] == ["ok", "ok"], "the blocked call must not reach the server"

    decisions = [
        (e["actor"], e["action"], e["tool"], e["from"], e["to"])
        for e in activity(gw.home)
        if e["kind"] == "decision" and e["server"] == SERVER
    ]
    assert decisions == [
        ("cli", "set_server_state", None, "pending", "trusted"),
        ("cli", "approve_tool", "ok", "pending", "approved"),
        ("api", "approve_tool", "held", "pending", "approved"),
        ("api", "block_tool", "held", "approved", "blocked"),
    ], decisions
    approvals = [e for e in activity(gw.home) if e["kind"] == "decision" and e["action"] == "approve_tool"]
    assert all(e["hash"] for e in approvals), f"an approval must record the approved definition's hash: {approvals}"

    # The log is in the store: the CLI reads the same rows with the gateway stopped.
    ids = [e["id"] for e in activity(gw.home)]
    gw.stop()
    assert [e["id"] for e in activity(gw.home)] == ids


def test_follow_prints_a_new_call_within_seconds(started):
    gw, admin, fx = started
    tk.cli(gw.home, "upstream", "approve", "--name", SERVER, "--tools", "ok")
    last_id = max(e["id"] for e in activity(gw.home))

    env = {**os.environ, "PORTCULLIS_HOME": str(gw.home)}
    follower = subprocess.Popen(
        [str(harness.gateway_bin()), "activity", "--json", "--follow", "--limit", "1"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert follower.stdout is not None
        for line in follower.stdout:
            lines.append(line)

    threading.Thread(target=read, name="activity-follow", daemon=True).start()
    try:
        # It prints the newest entry first; wait for it so the call below is surely "new".
        tk.wait_until(lambda: lines, "the follower's first line", timeout=10)
        assert json.loads(lines[0])["id"] == last_id, lines[0]
        with McpSession(gw.url) as s:
            started_at = time.monotonic()
            s.call(f"{SERVER}__ok", {"text": "followed"})
            with pytest.raises(RpcError):
                s.call(f"{SERVER}__held")

        def new_calls() -> list[dict]:
            entries = [json.loads(line) for line in list(lines)[1:]]
            return [(e["tool"], e["outcome"]["status"]) for e in entries if e["kind"] == "call"]

        got = tk.wait_until(lambda: len(new_calls()) >= 2 and new_calls(), "the follower to print both calls", timeout=FOLLOW_WITHIN)
        took = time.monotonic() - started_at
        assert got == [("ok", "ok"), ("held", "blocked")], got
        assert took < FOLLOW_WITHIN
        assert follower.poll() is None, "--follow must keep running"
    finally:
        follower.terminate()
        try:
            follower.wait(timeout=10)
        except subprocess.TimeoutExpired:
            follower.kill()
            follower.wait()
