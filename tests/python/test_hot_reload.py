"""Editing config.toml while the gateway serves: an added server starts, a removed one
stops, the others keep their processes, and a connected client keeps its session and is
told (`notifications/tools/list_changed`). A broken edit changes nothing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import anyio
import pytest
from mcp import Client, types

import harness
from admin import Admin

pytestmark = [pytest.mark.anyio, pytest.mark.gateway]

# The gateway polls the file every 0.5 s; "within a few seconds" (starting server-everything takes ~1 s).
APPLY_WITHIN = 10.0


class Notifications:
    """A message_handler for mcp.Client that remembers which notifications arrived."""

    def __init__(self) -> None:
        self.methods: list[str] = []

    async def __call__(self, message) -> None:
        if isinstance(message, Exception):
            return
        method = getattr(message, "method", None)
        if method:
            self.methods.append(method)

    def count(self, method: str) -> int:
        return self.methods.count(method)

    async def wait_for_more(self, method: str, than: int, timeout: float) -> None:
        with anyio.move_on_after(timeout):
            while self.count(method) <= than:
                await anyio.sleep(0.05)
        assert self.count(method) > than, f"no new {method} within {timeout} s; notifications so far: {self.methods}"


def replace_config(home: Path, text: str) -> None:
    """Writes config.toml the way careful editors do (write a temporary file, rename it over)."""
    tmp = home / "config.toml.tmp-edit"
    tmp.write_text(text)
    os.replace(tmp, home / "config.toml")


async def tool_names(client: Client) -> set[str]:
    return {t.name for t in (await client.list_tools()).tools}


async def wait_for_tools(client: Client, predicate, what: str) -> set[str]:
    deadline = time.monotonic() + APPLY_WITHIN
    while True:
        names = await tool_names(client)
        if predicate(names):
            return names
        if time.monotonic() > deadline:
            raise AssertionError(f"the client did not see {what} within {APPLY_WITHIN} s; it sees {sorted(names)}")
        await anyio.sleep(0.2)


async def wait_for_log(gw: harness.Gateway, text: str, what: str) -> None:
    """Waits until the gateway's log says `text`."""
    deadline = time.monotonic() + APPLY_WITHIN
    while text not in gw.stderr_text():
        if time.monotonic() > deadline:
            raise AssertionError(f"the gateway's log did not show {what} within {APPLY_WITHIN} s:\n{gw.stderr_text()[-3000:]}")
        await anyio.sleep(0.1)


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still "exists" for kill(0); it is gone for our purposes once reaped, so look at its state.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@pytest.fixture
def two_upstreams(gateway, tmp_path) -> tuple[harness.Gateway, str, str]:
    repo = harness.make_git_repo(tmp_path / "repo")
    config = harness.time_stdio() + "\n" + harness.git_stdio(repo)
    return gateway(config), config, str(repo)


async def test_added_and_removed_servers_reach_a_connected_client(two_upstreams) -> None:
    gw, _, _ = two_upstreams
    admin = Admin.of(gw)
    notes = Notifications()
    async with Client(gw.url, mode="legacy", read_timeout_seconds=30, message_handler=notes, cache=None) as client:
        before = await tool_names(client)
        assert {"time__get_current_time", "git__git_status"} <= before, sorted(before)
        assert not any(n.startswith("everything__") for n in before)
        time_pid, git_pid = admin.wait_ready("time")["pid"], admin.wait_ready("git")["pid"]
        changed = notes.count("notifications/tools/list_changed")

        # 1. Append a third server.
        with open(gw.home / "config.toml", "a") as f:
            f.write("\n" + harness.everything_stdio())
        await anyio.to_thread.run_sync(admin.approve_if_pending, "everything")
        names = await wait_for_tools(client, lambda n: "everything__echo" in n, "everything__echo")
        assert {"time__get_current_time", "git__git_status"} <= names, sorted(names)
        await notes.wait_for_more("notifications/tools/list_changed", changed, timeout=5)
        echo = await client.call_tool("everything__echo", {"message": "hot"})
        assert harness.text_of(echo) == "Echo: hot", echo

        views = admin.servers()
        assert views["time"]["pid"] == time_pid and views["git"]["pid"] == git_pid, (
            f"untouched upstreams were restarted: time {time_pid}->{views['time']['pid']}, git {git_pid}->{views['git']['pid']}"
        )
        assert views["time"]["restarts"] == 0 and views["git"]["restarts"] == 0, views
        everything_pid = views["everything"]["pid"]

        # 2. Remove one (git): its tools vanish, its process ends, the rest stay as they are.
        changed = notes.count("notifications/tools/list_changed")
        replace_config(gw.home, harness.time_stdio() + "\n" + harness.everything_stdio())
        names = await wait_for_tools(client, lambda n: not any(x.startswith("git__") for x in n), "git's tools gone")
        assert {"time__get_current_time", "everything__echo"} <= names, sorted(names)
        await notes.wait_for_more("notifications/tools/list_changed", changed, timeout=5)
        views = admin.servers()
        assert "git" not in views, f"the admin API still lists the removed server: {views['git']}"
        assert views["time"]["pid"] == time_pid and views["everything"]["pid"] == everything_pid, views
        deadline = time.monotonic() + 5
        while process_exists(git_pid) and time.monotonic() < deadline:
            await anyio.sleep(0.1)
        assert not process_exists(git_pid), f"the removed server's process {git_pid} is still running"

        # The session survived both edits.
        now = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
        assert not now.is_error, now


async def test_calling_a_removed_servers_tool_is_an_error_that_names_it(two_upstreams) -> None:
    gw, _, repo = two_upstreams
    async with Client(gw.url, mode="legacy", read_timeout_seconds=30, cache=None) as client:
        assert "git__git_status" in await tool_names(client)
        replace_config(gw.home, harness.time_stdio())
        await wait_for_tools(client, lambda n: "git__git_status" not in n, "git's tools gone")
        try:
            result = await client.call_tool("git__git_status", {"repo_path": repo})
        except Exception as e:  # noqa: BLE001 - a JSON-RPC error is the expected outcome
            message = str(e)
        else:
            assert result.is_error, f"a removed server's tool still answered: {result}"
            message = harness.text_of(result)
        assert "git__git_status" in message, message


async def test_broken_edit_keeps_the_running_config(two_upstreams) -> None:
    gw, config, _ = two_upstreams
    admin = Admin.of(gw)
    async with Client(gw.url, mode="legacy", read_timeout_seconds=30, cache=None) as client:
        before_names = await tool_names(client)
        before = {name: admin.wait_ready(name) for name in ("time", "git")}

        broken = config + "\n[servers.everything\ncommand = \"x\"\n"  # unclosed table header
        replace_config(gw.home, broken)
        # The gateway has read the edit once it says why it ignores it.
        await wait_for_log(gw, "ignoring the new config", "the broken edit rejected")

        after = admin.servers()
        assert sorted(after) == ["git", "time"], after
        for name in ("time", "git"):
            assert after[name]["state"] == "ready" and after[name]["pid"] == before[name]["pid"], (name, after[name])
        assert await tool_names(client) == before_names
        now = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
        assert not now.is_error, now

        log = gw.stderr_text()
        bad_line = broken.splitlines().index("[servers.everything") + 1
        assert f"line {bad_line}" in log, f"the gateway's log does not point at line {bad_line}:\n{log[-3000:]}"

        # The watcher is still alive: fixing the file applies it.
        replace_config(gw.home, config + "\n" + harness.everything_stdio())
        await anyio.to_thread.run_sync(admin.approve_if_pending, "everything")
        await wait_for_tools(client, lambda n: "everything__echo" in n, "everything__echo after the fix")
        assert admin.server("time")["pid"] == before["time"]["pid"]
