"""`max_concurrent` and `max_queue`: at most N requests at a server at once, a bounded
queue for the rest, a fast and clear refusal beyond it, and a cancelled request taken
out of the queue before it ever reaches the server. Against server-everything's long
running operation, which reports progress as it goes (so the test sees it in flight).
"""

from __future__ import annotations

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

import harness
from admin import Admin

pytestmark = [pytest.mark.anyio, pytest.mark.gateway]

EV = "everything__"


def long_call(duration: float) -> dict:
    """A step every 0.1 s, each reported: the first report comes at once."""
    return {"duration": duration, "steps": max(1, int(duration * 10))}


async def test_a_server_with_a_limit_queues_refuses_when_full_and_drops_a_cancelled_wait(gateway) -> None:
    gw = gateway(harness.everything_stdio() + "max_concurrent = 1\nmax_queue = 1\n")
    admin = Admin.of(gw)
    load = lambda: admin.server("everything")["load"]  # noqa: E731
    assert load() == {"running": 0, "waiting": 0}

    progress: dict[str, int] = {"first": 0, "queued": 0}
    first_started = anyio.Event()

    async def first(client: Client) -> None:
        async def seen(p: float, total: float | None, message: str | None) -> None:
            progress["first"] += 1
            first_started.set()

        result = await client.call_tool(EV + "trigger-long-running-operation", long_call(3.0), progress_callback=seen)
        assert not result.is_error, harness.text_of(result)

    async def queued(client: Client, scope: anyio.CancelScope) -> None:
        async def seen(p: float, total: float | None, message: str | None) -> None:
            progress["queued"] += 1

        with scope:
            await client.call_tool(EV + "trigger-long-running-operation", long_call(0.5), progress_callback=seen)

    async with Client(gw.url, mode="legacy") as a, Client(gw.url, mode="legacy") as b, Client(gw.url, mode="legacy") as c:
        async with anyio.create_task_group() as tg:
            tg.start_soon(first, a)
            with anyio.fail_after(10):
                await first_started.wait()
            assert load() == {"running": 1, "waiting": 0}

            # A second request waits for the one slot.
            scope = anyio.CancelScope()
            tg.start_soon(queued, b, scope)
            await admin.wait_for_async("everything", lambda s: s["load"]["waiting"] == 1, "queueing the second call")

            # A third finds the queue full: refused at once, saying why and what to change.
            with anyio.fail_after(5):
                with pytest.raises(MCPError) as busy:
                    await c.call_tool(EV + "echo", {"message": "hello"})
            assert busy.value.error.code == -32005, busy.value.error
            text = str(busy.value)
            assert "upstream `everything` is busy: 1 request(s) running and 1 waiting" in text, text
            assert "max_concurrent = 1, max_queue = 1" in text and "raise max_concurrent or max_queue" in text, text

            # The client gives up on the second: it leaves the queue, the first keeps running.
            scope.cancel()
            await admin.wait_for_async("everything", lambda s: s["load"] == {"running": 1, "waiting": 0}, "the cancelled call out of the queue")
        # The first finished; the cancelled one never reached the server.
        assert progress["first"] > 0 and progress["queued"] == 0, progress
        assert load() == {"running": 0, "waiting": 0}
        result = await c.call_tool(EV + "echo", {"message": "free again"})
        assert "free again" in harness.text_of(result)


def test_max_queue_without_max_concurrent_is_refused_with_a_hint(tmp_path) -> None:
    import subprocess

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(harness.everything_stdio() + "max_queue = 4\n")
    out = subprocess.run([str(harness.gateway_bin()), "upstream", "list"], env={"PORTCULLIS_HOME": str(home), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "has `max_queue` but no `max_concurrent`" in out.stderr and "hint:" in out.stderr, out.stderr
