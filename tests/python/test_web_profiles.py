"""The Profiles page, in a real browser (Chromium via playwright-core) against a real
gateway: it lists the profiles of config.toml with what each covers, adds one (the
file keeps the person's comments; an MCP client at /mcp/p/NAME sees only its tools at
once), edits it, refuses a bad one with the gateway's hint and loses nothing, and
removes it.

Takes the README's screenshot of the page (profiles.png).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import browser as br
import harness
from admin import Admin
from trustkit import McpSession, wait_until

_missing = br.missing_reason()
if _missing and os.environ.get("CI"):
    pytestmark = [pytest.mark.gateway]
else:
    pytestmark = [pytest.mark.gateway, pytest.mark.skipif(_missing is not None, reason=_missing or "")]

CONFIG = (
    "# My gateway. Keep this comment.\n"
    '[gateway]\nsurface = "direct"\n\n'
    + harness.everything_stdio()
    + harness.time_stdio()
    + '\n[profiles.all-time]\ndescription = "The clock"\nservers = ["time"]\n'
)


def tool_names(gw: harness.Gateway, path: str) -> set[str]:
    with McpSession(gw.url + path, client_name="profiles-test") as s:
        return {t["name"] for t in s.request("tools/list", {})["tools"]}


def open_page(gw: harness.Gateway, b) -> None:
    b.goto(f"http://127.0.0.1:{gw.port}/ui/#/profiles")
    b.wait("#token-input")
    b.fill("#token-input", Admin.of(gw).token)
    b.click("#token-submit")
    b.wait('[data-profile="all-time"]', "The clock")


def test_profiles_are_listed_added_edited_and_removed(gateway, b):
    gw = gateway(CONFIG)
    open_page(gw, b)
    assert "time" in b.text('[data-profile="all-time"] .covers')

    b.click("#profile-new")
    b.wait("#profile-form")
    b.fill("#profile-name", "echoes")
    b.fill("#profile-description", "Only echo")
    b.click('input[name="profile-server"][value="everything"]')
    b.fill("#profile-tools", "echo\ntime/get_*")
    b.fill("#profile-server-globs", "ti*")
    b.select("#profile-surface", "direct")
    b.screenshot("profiles")
    b.click("#profile-save")
    b.wait('[data-profile="echoes"]', "Only echo")
    assert b.text('[data-profile="echoes"] .covers') == "everything, time"
    text = (gw.home / "config.toml").read_text()
    assert text.startswith("# My gateway. Keep this comment.\n"), text
    assert 'servers = ["everything", "ti*"]' in text and 'tools = ["echo", "time/get_*"]' in text, text
    # Applied at once: a client at its URL sees exactly its tools.
    wait_until(lambda: tool_names(gw, "/p/echoes") == {"everything__echo", "time__get_current_time"}, "the profile's tools at /mcp/p/echoes")

    # Edit: drop the time tools.
    b.click('[data-profile="echoes"] button:text("Edit")')
    b.wait("#profile-form", "Edit echoes")
    b.fill("#profile-server-globs", "")
    b.fill("#profile-tools", "echo")
    b.click("#profile-save")
    b.wait('[data-profile="echoes"] .covers', "everything")
    wait_until(lambda: tool_names(gw, "/p/echoes") == {"everything__echo"}, "the edited profile at /mcp/p/echoes")

    # A profile that would offer nothing is refused with the gateway's hint; the file stays.
    before = (gw.home / "config.toml").read_text()
    b.click("#profile-new")
    b.wait("#profile-form")
    b.fill("#profile-name", "empty")
    b.click("#profile-save")
    b.wait("#toasts .toast.error", "lists no servers")
    assert (gw.home / "config.toml").read_text() == before

    # Remove asks twice.
    b.click('[data-profile="echoes"] button:text("Remove")')
    b.click('[data-profile="echoes"] button:text("Click again to remove")')
    b.gone('[data-profile="echoes"]')
    assert "[profiles.echoes]" not in (gw.home / "config.toml").read_text()
    assert "[profiles.all-time]" in (gw.home / "config.toml").read_text()


def test_connect_gives_a_client_a_profile(gateway, b, tmp_path):
    """On the Connect page a client can be given a profile: over HTTP its new token is bound
    to it (at /mcp it sees only the profile's tools); Claude Desktop's command serves it."""
    home = tmp_path / "person"
    home.mkdir()
    gw = gateway(CONFIG, extra_env={"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")})
    b.goto(f"http://127.0.0.1:{gw.port}/ui/#/connect")
    b.wait("#token-input")
    b.fill("#token-input", Admin.of(gw).token)
    b.click("#token-submit")
    card = '[data-client="cursor"]'
    b.wait(f"{card} .profile-select")
    b.select(f"{card} .profile-select", "all-time")
    b.click(f'{card} >> role=button[name="Add to Cursor"s]')
    b.wait("#toasts", "Added Portcullis to Cursor")
    entry = json.loads((home / ".cursor" / "mcp.json").read_text())["mcpServers"]["portcullis"]
    token = entry["headers"]["Authorization"].removeprefix("Bearer ")
    clients = {c["name"]: c for c in Admin.of(gw).get("client-tokens").json()["clients"]}
    assert clients["cursor"]["profile"] == "all-time", clients
    with McpSession(gw.url, client_name="cursor", token=token) as s:
        names = {t["name"] for t in s.request("tools/list", {})["tools"]}
    assert names and all(n.startswith("time__") for n in names), names

    done = Admin.of(gw).post("clients/claude-desktop/install", {"profile": "all-time"})
    assert done.status_code == 200, done.text
    desktop = json.loads(Path(done.json()["path"]).read_text())["mcpServers"]["portcullis"]
    assert desktop["args"] == ["stdio", "--profile", "all-time"], desktop
    refused = Admin.of(gw).post("clients/zed/install", {"profile": "nope"})
    assert refused.status_code == 400 and "no profile `nope`" in refused.text, refused.text
