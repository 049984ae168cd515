"""Faults (issue 14, item 9): a config file that is empty or missing for a moment, as an
editor saving it leaves it, is not applied as "no servers"; a gateway stops the processes
an earlier one on the same home left running when it was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import harness
from trustkit import McpSession, wait_until

pytestmark = pytest.mark.gateway

HOSTILE = Path(__file__).parent / "fixtures" / "hostile_upstream.py"


def pid_of(gw, name: str):
    return {v["name"]: v for v in harness.admin_call(gw, "GET", "servers")}[name]["pid"]


def test_a_config_empty_or_missing_for_a_moment_is_not_applied(gateway) -> None:
    gw = gateway(harness.server_table("h", command=sys.executable, args=[str(HOSTILE)]))
    config = gw.home / "config.toml"
    text = config.read_text()
    before = pid_of(gw, "h")

    config.write_text("")  # an editor truncating before it writes
    wait_until(lambda: "missing or empty" in gw.stderr_text(), "the gateway to notice the empty file")
    with McpSession(gw.url) as s:
        assert s.call("h__echo", {"text": "up"})["content"][0]["text"] == "up"
    config.unlink()  # or renaming over it
    config.write_text(text)
    with McpSession(gw.url) as s:
        assert s.call("h__echo", {"text": "still up"})["content"][0]["text"] == "still up"
    assert pid_of(gw, "h") == before, "the server was stopped and started again"

    # A comment empties it for real.
    config.write_text("# no servers\n")
    wait_until(lambda: "h" not in {v["name"] for v in harness.admin_call(gw, "GET", "servers")},
               "the server to be removed by a file that only has a comment")


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_restarted_gateway_stops_the_strays_of_the_killed_one(tmp_path) -> None:
    # The server forks a process into its own group that ignores SIGTERM and SIGHUP: the
    # parent-death signal reaches only the server itself, so it outlives a killed gateway.
    pid_file = tmp_path / "stray.pid"
    config = harness.server_table(
        "h", command=sys.executable, args=[str(HOSTILE)], env={"HOSTILE_STRAY": str(pid_file)}
    )
    base = tmp_path / "gw"
    first = harness.start_gateway(config, base)
    stray = None
    try:
        stray = int(wait_until(lambda: pid_file.exists() and pid_file.read_text(), "the stray's pid"))
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
        assert alive(stray), "the stray should outlive the killed gateway (else this test proves nothing)"

        pid_file.unlink()
        second = harness.start_gateway(config, base)
        try:
            wait_until(lambda: not alive(stray), f"the stray {stray} of the killed gateway to be stopped", timeout=15)
            # The new gateway's own server (and its stray) runs on.
            new_stray = int(wait_until(lambda: pid_file.exists() and pid_file.read_text(), "the new stray's pid"))
            assert alive(new_stray)
            with McpSession(second.url) as s:
                assert s.call("h__echo", {"text": "up"})["content"][0]["text"] == "up"
            assert list((second.home / "groups").iterdir()), "the running server's group is recorded"
        finally:
            second.stop()
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text()), signal.SIGKILL)
                except ProcessLookupError:
                    pass
    finally:
        first.stop()
        if stray is not None and alive(stray):
            os.kill(stray, signal.SIGKILL)


def test_an_upstream_that_stops_answering_is_restarted_with_the_reason_shown(gateway) -> None:
    # A call times out after 1 s; the server then reads nothing more, so the ping that
    # follows goes unanswered too.
    gw = gateway(harness.server_table("h", command=sys.executable, args=[str(HOSTILE)]) + "timeout = 1\n")
    before = pid_of(gw, "h")
    with McpSession(gw.url) as s:
        with pytest.raises(Exception, match="did not answer `tools/call` within 1 s"):
            s.call("h__hang", {})

    def restarted():
        view = {v["name"]: v for v in harness.admin_call(gw, "GET", "servers")}["h"]
        return view if view["state"] == "ready" and view["pid"] not in (None, before) else None

    view = wait_until(restarted, "the hung server to be restarted", timeout=30)
    assert "stopped answering" in view["restart_reason"], view
    assert "`tools/call` timed out after 1 s" in view["restart_reason"], view
    assert "ping went unanswered" in view["restart_reason"], view
    wait_until(lambda: not alive(before), "the hung process to be stopped")
    with McpSession(gw.url) as s:
        assert s.call("h__echo", {"text": "back"})["content"][0]["text"] == "back"

    listed = subprocess.run(
        [str(harness.gateway_bin()), "upstream", "list"],
        env={**os.environ, "PORTCULLIS_HOME": str(gw.home)},
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "restarted 1 time(s); the last time: restarted because it stopped answering" in listed, listed


def test_the_tool_list_is_complete_whenever_a_server_says_it_is_ready(tmp_path) -> None:
    extra = 300
    config = harness.server_table(
        "h", command=sys.executable, args=[str(HOSTILE)], env={"HOSTILE_EXTRA_TOOLS": str(extra)}
    )
    base = tmp_path / "gw"
    first = harness.start_gateway(config, base)
    try:
        count = {v["name"]: v for v in harness.admin_call(first, "GET", "servers")}["h"]["tools"]
        assert count == 7 + extra
    finally:
        first.stop()

    # A restart: from the moment the server says it is ready, every tool is listed.
    gw = harness.start_gateway(config, base, trust=False)
    try:
        def ready():
            return {v["name"]: v for v in harness.admin_call(gw, "GET", "servers")}["h"]["state"] == "ready"

        wait_until(ready, "the server to be ready", interval=0.002)
        listed = harness.admin_call(gw, "GET", "tools?server=h")
        assert len(listed) == count, f"ready, but {len(listed)} of {count} tools listed"
        assert all(t["state"] == "approved" for t in listed), {t["state"] for t in listed}
    finally:
        gw.stop()
