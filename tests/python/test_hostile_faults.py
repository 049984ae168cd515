"""Faults (issue 14, item 9): a config file that is empty or missing for a moment, as an
editor saving it leaves it, is not applied as "no servers"."""

from __future__ import annotations

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
