"""Supervision: an upstream that exits at once is retried with backoff (0.5 s base,
doubling), shows `backoff` and why in the admin API, never restarts in a storm, and does
not disturb the upstreams that work."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

import harness
from admin import Admin

pytestmark = [pytest.mark.anyio, pytest.mark.gateway]

OBSERVE = 4.0  # seconds
# 0.5 s base doubling with jitter in [step/2, step]: at most 0.25+0.5+1+2 s of waits fit in 4 s,
# so about 4 restarts; 5 leaves room for process start times, a storm would be dozens.
MAX_RESTARTS = 5


EXIT_DURING_HANDSHAKE = pytest.mark.xfail(
    strict=True,
    reason="gateway bug: a stdio upstream that exits before answering `initialize` stays `starting` for the "
    "90 s handshake timeout instead of backing off; see /work/patches/e2e-exit-during-handshake.diff",
)


def crasher(name: str = "crasher") -> str:
    return harness.server_table(name, command=sys.executable, args=["-c", "import sys; sys.exit(1)"])


@EXIT_DURING_HANDSHAKE
async def test_upstream_that_exits_at_once_backs_off(gateway) -> None:
    # trust=False: the harness would wait for the crasher to leave `starting`; approve by hand.
    gw = gateway(crasher() + "\n" + harness.time_stdio(), trust=False)
    admin = Admin.of(gw)
    admin.approve_if_pending("time")
    admin.approve_server("crasher")
    started = time.monotonic()
    first = admin.wait_for("crasher", lambda s: s["state"] == "backoff", "in backoff", timeout=10)
    assert first["last_error"], first
    assert "exited with status 1" in first["last_error"], f"last_error does not say how it exited: {first['last_error']}"
    assert first["pid"] is None, first

    samples = []
    while time.monotonic() - started < OBSERVE:
        samples.append(admin.server("crasher"))
        time.sleep(0.1)
    last = admin.server("crasher")
    assert 1 <= last["restarts"] <= MAX_RESTARTS, (
        f"{last['restarts']} restarts in {OBSERVE} s (expected 1..{MAX_RESTARTS}): {last}"
    )
    assert any(s["state"] == "backoff" for s in samples), samples
    assert last["state"] in ("backoff", "starting"), last
    assert last["tools"] == 0, last

    # The healthy upstream is unaffected: one process, never restarted, callable.
    healthy = admin.server("time")
    assert healthy["state"] == "ready" and healthy["restarts"] == 0, healthy
    async with Client(gw.url, mode="legacy", read_timeout_seconds=30) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "time__get_current_time" in names, sorted(names)
        assert not any(n.startswith("crasher__") for n in names), sorted(names)
        now = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
        assert not now.is_error, now
    assert admin.server("time")["pid"] == healthy["pid"]


def works_once_then_fails(name: str, marker: Path) -> str:
    """server-everything the first time; later starts print a reason on stderr and exit 3."""
    script = (
        f'if [ -e "{marker}" ]; then echo "{name}: the database is locked" >&2; exit 3; fi; '
        f'touch "{marker}"; exec "{harness.EVERYTHING}" stdio'
    )
    return harness.server_table(name, command="sh", args=["-c", script])


@EXIT_DURING_HANDSHAKE
async def test_a_call_to_a_server_that_cannot_restart_fails_at_once_with_why(gateway, tmp_path) -> None:
    gw = gateway(works_once_then_fails("flaky", tmp_path / "started-once") + "\n" + harness.time_stdio())
    admin = Admin.of(gw)
    async with Client(gw.url, mode="legacy", read_timeout_seconds=30) as client:
        assert "flaky__echo" in {t.name for t in (await client.list_tools()).tools}
        first = admin.wait_ready("flaky")
        os.kill(first["pid"], signal.SIGKILL)
        down = await admin.wait_for_async(
            "flaky", lambda s: s["state"] == "backoff" and "exited with status 3" in (s["last_error"] or ""),
            "in backoff after a failed restart", timeout=10,
        )
        assert "the database is locked" in down["last_error"], down

        started = time.monotonic()
        try:
            result = await client.call_tool("flaky__echo", {"message": "anyone?"})
        except MCPError as e:
            message = str(e)
        else:
            assert result.is_error, f"a call to a server that is down succeeded: {result}"
            message = harness.text_of(result)
        assert time.monotonic() - started < 2.0, "the call waited for a server that is down"
        assert "`flaky`" in message and "the database is locked" in message, message

        now = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
        assert not now.is_error, now
