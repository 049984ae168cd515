"""An upstream killed in the middle of a call: the caller hears about it at once, from a
message that names the server, and the gateway brings the upstream back by itself while
the client's session (and the other upstreams) carry on."""

from __future__ import annotations

import os
import signal
import time

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

import harness
from admin import Admin

pytestmark = [pytest.mark.anyio, pytest.mark.gateway]

# A behaviour bound, not a benchmark: the gateway learns of the death from the pipe
# closing, so the caller should know within a second or so, not after the call's 60 s timeout.
PROMPT = 2.0


async def test_upstream_killed_mid_call(gateway) -> None:
    gw = gateway(harness.everything_stdio() + harness.time_stdio())
    admin = Admin.of(gw)
    async with Client(gw.url, mode="legacy", read_timeout_seconds=60) as client:
        await client.list_tools()
        before = admin.wait_ready("everything")
        time_before = admin.wait_ready("time")
        assert before["pid"], f"the admin API gives no pid for a running stdio upstream: {before}"

        outcome: dict = {}
        progressed = anyio.Event()

        async def progress(p: float, total: float | None, message: str | None) -> None:
            progressed.set()

        async def long_call() -> None:
            try:
                # A step every 0.1 s, each reported: the first report says the upstream has the call.
                outcome["result"] = await client.call_tool(
                    "everything__trigger-long-running-operation", {"duration": 30, "steps": 300}, progress_callback=progress
                )
            except MCPError as e:
                outcome["error"] = e
            outcome["at"] = time.monotonic()

        async with anyio.create_task_group() as tg:
            tg.start_soon(long_call)
            with anyio.move_on_after(10):
                await progressed.wait()  # the call is now in flight on the upstream
            assert progressed.is_set(), f"the upstream reported no progress on the call within 10 s: {outcome}"
            assert "at" not in outcome, f"the 30 s call ended before the kill: {outcome}"
            killed_at = time.monotonic()
            os.kill(before["pid"], signal.SIGKILL)
            with anyio.fail_after(10, shield=True):
                while "at" not in outcome:
                    await anyio.sleep(0.01)

        elapsed = outcome["at"] - killed_at
        if "error" in outcome:
            message = str(outcome["error"])
        else:
            result = outcome["result"]
            assert result.is_error, f"the call on a killed upstream succeeded: {result}"
            message = harness.text_of(result)
        assert elapsed < PROMPT, f"the caller heard of the death after {elapsed:.2f} s (bound {PROMPT} s): {message}"
        assert "`everything`" in message, f"the error does not name the server: {message}"

        after = await admin.wait_for_async(
            "everything",
            lambda s: s["state"] == "ready" and s["pid"] not in (None, before["pid"]),
            "ready again with a new process",
            timeout=15,
        )
        assert after["restarts"] >= before["restarts"] + 1, after

        echo = await client.call_tool("everything__echo", {"message": "back again"})
        assert not echo.is_error, echo
        assert harness.text_of(echo) == "Echo: back again"

        time_after = admin.server("time")
        assert time_after["pid"] == time_before["pid"] and time_after["restarts"] == time_before["restarts"], (
            f"the other upstream was disturbed: before {time_before}, after {time_after}"
        )
        now = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
        assert not now.is_error, now


async def test_idle_upstream_killed_comes_back(gateway) -> None:
    """No call in flight: the kill is noticed, the admin API says why, and the upstream returns."""
    gw = gateway(harness.everything_stdio())
    admin = Admin.of(gw)
    before = admin.wait_ready("everything")
    os.kill(before["pid"], signal.SIGKILL)
    down = admin.wait_for("everything", lambda s: s["pid"] != before["pid"], "noticed as gone", timeout=5)
    assert down["restarts"] >= 1 or down["state"] != "ready", down
    after = admin.wait_for(
        "everything", lambda s: s["state"] == "ready" and s["pid"] not in (None, before["pid"]), "ready again", timeout=15
    )
    assert after["restarts"] == before["restarts"] + 1, after
    async with Client(gw.url, mode="legacy", read_timeout_seconds=30) as client:
        echo = await client.call_tool("everything__echo", {"message": "fresh"})
        assert harness.text_of(echo) == "Echo: fresh"
