"""Acknowledged decisions survive a crash: approvals and blocks fired at the admin API
while the gateway is SIGKILLed are all found afterwards (offline through the CLI, and
by a restarted gateway), the activity log holds a row for each, and SQLite's
integrity check passes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
from dataclasses import dataclass, field

import httpx2
import pytest

import harness
import trustkit as tk
from admin import Admin
from trustkit import MutableFixture

pytestmark = pytest.mark.gateway

SERVER = "mut"
TOOLS = [f"tool_{i}" for i in range(8)]
WORKERS = 2  # each owns every WORKERS-th tool, so a tool has at most one decision in flight
KILL_AFTER_ACKS = 40


@dataclass
class Worker:
    """Alternates approve and block over its own tools until a request fails."""

    admin: Admin
    tools: list[str]
    acked: dict[str, str] = field(default_factory=dict)  # tool -> state the last acknowledged decision set
    count: int = 0
    in_flight: tuple[str, str] | None = None  # (tool, state) of the request the kill interrupted
    error: str | None = None

    def run(self, stop: threading.Event) -> None:
        http = httpx2.Client(timeout=10, trust_env=False)
        headers = {"Authorization": f"Bearer {self.admin.token}"}
        i = 0
        try:
            while not stop.is_set():
                tool = self.tools[i % len(self.tools)]
                verb, want = ("approve", "approved") if (i // len(self.tools)) % 2 == 0 else ("block", "blocked")
                self.in_flight = (tool, want)
                try:
                    # An approval names the definition reviewed (the fixture's tools never change here).
                    named = self.admin.shown(SERVER, [tool]) if verb == "approve" else [tool]
                    resp = http.post(f"{self.admin.api_url}/servers/{SERVER}/{verb}", headers=headers, json={"tools": named})
                except httpx2.HTTPError as e:
                    self.error = repr(e)
                    return
                if resp.status_code != 200:
                    self.error = f"HTTP {resp.status_code} {resp.text[:300]}"
                    return
                got = dict((name, st) for name, st in resp.json()["tools"])
                assert got.get(tool) == want, f"{verb} {tool} answered {resp.json()}"
                self.acked[tool] = want
                self.in_flight = None
                self.count += 1
                i += 1
        finally:
            http.close()


def integrity(db) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def test_acknowledged_decisions_survive_sigkill(tmp_path):
    fx = MutableFixture.create(tmp_path / "fx", [tk.tool_def(t) for t in TOOLS])
    config = fx.server_table(SERVER)
    base = tmp_path / "gw"
    gw = harness.start_gateway(config, base, trust=False)
    try:
        admin = Admin.of(gw)
        assert admin.post(f"servers/{SERVER}/approve", {}).status_code == 200
        admin.wait_ready(SERVER)
        tk.wait_until(lambda: set(tk.tool_states(admin, SERVER)) == set(TOOLS), "the gateway to see every tool")

        stop = threading.Event()
        workers = [Worker(admin, TOOLS[k::WORKERS]) for k in range(WORKERS)]
        threads = [threading.Thread(target=w.run, args=(stop,), name=f"decide-{k}") for k, w in enumerate(workers)]
        for t in threads:
            t.start()
        tk.wait_until(lambda: sum(w.count for w in workers) >= KILL_AFTER_ACKS or any(w.error for w in workers), "enough acknowledged decisions", timeout=60, interval=0.005)
        assert not any(w.error for w in workers), [w.error for w in workers]
        os.killpg(gw.proc.pid, signal.SIGKILL)  # the gateway and its upstream, mid-loop
        gw.proc.wait()  # reaped, so the CLI sees it gone (a zombie still answers kill(pid, 0))
        for t in threads:
            t.join(timeout=30)
        stop.set()
        assert all(w.error for w in workers), "every worker must have been cut off by the kill"
    finally:
        gw.stop()

    acked = {tool: st for w in workers for tool, st in w.acked.items()}
    in_flight = {w.in_flight[0]: w.in_flight[1] for w in workers if w.in_flight}
    total = sum(w.count for w in workers)
    assert total >= KILL_AFTER_ACKS and acked

    db = gw.home / "portcullis.db"
    assert integrity(db) == ["ok"]

    # Offline: the CLI reads the store (the killed gateway left gateway.json behind; its pid is dead).
    assert (gw.home / "gateway.json").exists()
    rows = tk.cli_json(gw.home, "tools", "list", "--server", SERVER, "--json")
    offline = {r["tool"]: r["state"] for r in rows}
    for tool in TOOLS:
        allowed = {acked.get(tool, "pending")} | ({in_flight[tool]} if tool in in_flight else set())
        assert offline.get(tool) in allowed, (
            f"`{tool}` is {offline.get(tool)!r} after the crash; its last acknowledged decision made it {acked.get(tool)!r}"
            f" (in flight: {in_flight.get(tool)!r})"
        )

    # Every acknowledged decision has its row in the activity log (same transaction).
    entries = [json.loads(line) for line in tk.cli(gw.home, "activity", "--json", "--limit", "10000").stdout.splitlines() if line.strip()]
    tool_decisions = [e for e in entries if e["kind"] == "decision" and e["tool"] in TOOLS]
    assert total <= len(tool_decisions) <= total + len(in_flight), (total, len(tool_decisions), in_flight)

    # A restarted gateway enforces the same states, and the file is still sound.
    gw2 = harness.start_gateway(config, base, trust=False)
    try:
        admin2 = Admin.of(gw2)
        assert admin2.server(SERVER)["state"] in ("starting", "ready"), "the server stays trusted after the crash"
        admin2.wait_ready(SERVER)
        online = tk.wait_until(lambda: (s := tk.tool_states(admin2, SERVER)) and set(s) == set(TOOLS) and s, "the restarted gateway's tools")
        assert online == offline
        with tk.McpSession(gw2.url) as s:
            listed = {n.removeprefix(f"{SERVER}__") for n in s.tool_names()}
        assert listed == {t for t, st in offline.items() if st == "approved"}
    finally:
        gw2.stop()
    assert integrity(db) == ["ok"]
