"""The Settings page, in a real browser (Chromium via playwright-core) against
a real gateway: it shows what config.toml declares, saves a change to the file
(keeping the person's comments), the gateway applies it at once (an MCP client
sees the other tool surface), and a bad value is refused with a hint while the
file stays as it was. In a browser there is no "Start at login": that toggle is
the desktop app's (tests/desktop/test_instance.py).

Takes the README's screenshot of the page (settings.png).
"""

from __future__ import annotations

import os

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

CONFIG = """# My gateway. Keep this comment.
[gateway]
surface = "search"  # agents search first
"""



def tool_names(gw: harness.Gateway) -> set[str]:
    with McpSession(gw.url, client_name="settings-test") as s:
        return {t["name"] for t in s.request("tools/list", {})["tools"]}


def test_settings_are_saved_to_the_config_and_applied_live(gateway, b):
    gw = gateway(CONFIG, trust=False)
    assert "search_tools" in tool_names(gw)
    b.goto(f"http://127.0.0.1:{gw.port}/ui/#/settings")
    b.wait("#token-input")
    b.fill("#token-input", Admin.of(gw).token)
    b.click("#token-submit")
    b.wait("#settings-form", "Config file:")
    assert b.value("#settings-surface") == "search"
    assert b.value("#settings-retention") == "30"
    assert b.eval("document.querySelector('#settings-notifications').checked") is True
    assert b.count("#settings-autostart") == 0, "Start at login is the desktop app's"
    b.screenshot("settings")

    b.select("#settings-surface", "direct")
    b.fill("#settings-retention", "7")
    b.click("#settings-notifications")
    b.click("#settings-save")
    b.wait("#toasts", "Settings saved.")
    text = (gw.home / "config.toml").read_text()
    assert text.startswith("# My gateway. Keep this comment.\n[gateway]\n"), text
    assert 'surface = "direct"  # agents search first' in text, text
    assert "activity_retention_days = 7" in text and "notifications = false" in text, text
    # Applied live: agents now see every approved tool by name, and no search tools.
    wait_until(lambda: "search_tools" not in tool_names(gw), "the direct surface at /mcp")
    settings = Admin.of(gw).get("settings").json()
    assert settings["surface"] == "direct" and settings["activity_retention_days"] == 7 and settings["notifications"] is False, settings


def test_a_bad_value_is_refused_with_a_hint_and_the_file_kept(gateway, b):
    gw = gateway(CONFIG, trust=False)
    before = (gw.home / "config.toml").read_text()
    b.goto(f"http://127.0.0.1:{gw.port}/ui/#/settings")
    b.wait("#token-input")
    b.fill("#token-input", Admin.of(gw).token)
    b.click("#token-submit")
    b.wait("#settings-form", "Config file:")
    b.fill("#settings-retention", "0")
    b.click("#settings-save")
    b.wait("#toasts .toast.error", "activity_retention_days = 0 is out of range")
    assert "between 1 and 3650 days" in b.text("#toasts .toast.error")
    b.fill("#settings-retention", "30")
    b.fill("#settings-listen", "localhost-ish")
    b.click("#settings-save")
    b.wait("#toasts", "is not an address to listen on")
    assert (gw.home / "config.toml").read_text() == before
    # The API says the same to any client: status, message and hint.
    resp = Admin.of(gw).post("settings", {"surface": "everything"})
    assert resp.status_code == 400 and "hint" in resp.json() and "surface" in resp.json()["hint"], resp.text
