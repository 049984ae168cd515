"""A notification's actions, on a real D-Bus session with dunst: "Block"
blocks exactly the tools the notification names, in the store, as a person's
decision from the desktop (actor `window`); "Review" opens the popup (see
test_desktop.py, which clicks a notification).

dunst can only invoke a notification's default action itself (dunstctl
action), so the test does what dunst does when a person picks "Block" from the
notification's menu: it emits org.freedesktop.Notifications.ActionInvoked
with the notification's id and the action's key on the session bus.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import harness
import trustkit
from desktop import App, wait_for

SERVER = "blockme"

pytestmark = pytest.mark.usefixtures("graphical_session")


@pytest.fixture(scope="module")
def app(tmp_path_factory, notifications) -> App:
    home = tmp_path_factory.mktemp("notify-actions-home")
    (home / "config.toml").write_text('[gateway]\nlisten = "127.0.0.1:0"\n')
    trustkit.cli(home, "upstream", "add", "--name", SERVER, "--command", str(harness.EVERYTHING), "--args", "stdio")
    app = App.launch(home)
    yield app
    app.quit()


def test_block_in_a_notification_blocks_exactly_the_tools_it_names(app: App, notifications) -> None:
    pending = wait_for(f"{SERVER}'s tools pending", lambda: [t for t in app.admin("GET", "/tools/pending") if t["server"] == SERVER])
    want = f"{SERVER}: {len(pending)} tools awaiting approval"
    call = wait_for(f"Notify with {want!r}", lambda: next((c for c in notifications.notify_calls() if c["summary"] == want and c["id"]), None), timeout=30)
    # Its actions, as (key, label) pairs after app name, icon, summary and body.
    assert "block" in call["strings"] and "Block" in call["strings"], call
    named = {t["name"] for t in pending}

    subprocess.run(
        ["gdbus", "emit", "--session", "--object-path", "/org/freedesktop/Notifications",
         "--signal", "org.freedesktop.Notifications.ActionInvoked", f"uint32 {call['id']}", "'block'"],
        check=True, timeout=10,
    )
    wait_for("the named tools to leave the pending list", lambda: not [t for t in app.admin("GET", "/tools/pending") if t["server"] == SERVER], timeout=30)
    tools = {t["tool"]: t for t in app.admin("GET", "/tools") if t["server"] == SERVER}
    assert {n for n, t in tools.items() if t["state"] == "blocked"} == named, tools
    decisions = [a for a in app.admin("GET", "/activity?limit=200") if a.get("server") == SERVER and a.get("actor")]
    assert decisions and all(d["actor"] == "window" for d in decisions), decisions
    wait_for("the log line", lambda: "blocked from a notification: blockme:" in app.log(), timeout=10)
    tray = app.invoke("tray_state")
    assert tray["pending"] == "No tools awaiting approval", tray
