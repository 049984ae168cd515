"""The desktop app as a person uses it, with a real upstream (server-everything
over stdio), a real notification daemon (dunst) on a real D-Bus session bus,
and the app's real window driven through tauri-driver and WebKitWebDriver.

The tests of this module share one app and run in order, as a person's
session would: the window opens, a notification says what waits, a click on it
opens the popup (its Review action does the same), a tool is approved there and can then be called,
the gateway is paused and resumed, the window is closed (the app stays), and
Quit stops everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import anyio
import pytest
from mcp import Client
from selenium.webdriver.common.by import By

import desktop
import harness
import trustkit
from desktop import App, wait_for

SERVER = "everything"
TOOL = "echo"

pytestmark = pytest.mark.usefixtures("graphical_session")


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A Portcullis home where a person added server-everything with the CLI."""
    home = tmp_path_factory.mktemp("portcullis-home")
    (home / "config.toml").write_text('[gateway]\nlisten = "127.0.0.1:0"\n')
    trustkit.cli(home, "upstream", "add", "--name", SERVER, "--command", str(harness.EVERYTHING), "--args", "stdio")
    return home


@pytest.fixture(scope="module")
def app(home, notifications) -> App:
    app = App.launch(home)
    yield app
    app.quit()


def pending_of(app: App, server: str = SERVER) -> list[dict]:
    return [t for t in app.admin("GET", "/tools/pending") if t["server"] == server]


def mcp_error(app: App, name: str, arguments: dict) -> dict | None:
    """Calls a tool over MCP (direct surface); returns the JSON-RPC error, or None when it succeeded."""
    with trustkit.McpSession(app.runtime()["mcp_url"] + "/direct", client_name="desktop-tests") as s:
        try:
            s.call(name, arguments)
            return None
        except trustkit.RpcError as e:
            return {"code": e.code, "message": e.message}


def test_window_opens_on_the_web_ui_with_the_api_handed_over(app: App) -> None:
    runtime = wait_for("gateway.json from the app", app.runtime)
    origin = runtime["api_url"].removesuffix("/api/v1")
    app.switch("main")
    wait_for("the main window on /ui/", lambda: app.driver.current_url.startswith(origin + "/ui/"))
    injected = app.driver.execute_script("return window.__PORTCULLIS__")
    assert injected["apiBase"] == runtime["api_url"]
    # The window gets a token of its own, made at start and never written to disk, so what
    # it decides is recorded as the window's; it opens the admin API like the admin token.
    assert injected["token"] and injected["token"] != app.token()
    req = urllib.request.Request(runtime["api_url"] + "/servers", headers={"Authorization": f"Bearer {injected['token']}"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 (the app's loopback API)
        assert resp.status == 200
    status = app.invoke("desktop_status")
    assert status["running"] and status["mcp_url"] == runtime["mcp_url"], status
    # The person added the server with the CLI: it runs, and its tools wait for approval.
    tools = wait_for("server-everything's tools pending", lambda: pending_of(app))
    assert TOOL in {t["name"] for t in tools}
    # The tools are listed a moment before the server counts as up: wait for both.
    tray = wait_for("the tray to count them", lambda: (t := app.invoke("tray_state"))["attention"] and t["servers"] == "1 of 1 server up" and t)
    assert tray["pending"] == f"{len(tools)} tools awaiting approval", tray
    assert tray["address"] == f"Listening on {origin.removeprefix('http://')}", tray
    # The window shows the UI itself, not an error or a token prompt.
    wait_for("the UI to render the server", lambda: SERVER in app.driver.find_element(By.TAG_NAME, "body").text)
    time.sleep(0.5)
    app.screenshot("desktop-window.png")


def test_a_notification_names_the_server_and_the_count(app: App, notifications) -> None:
    count = len(pending_of(app))
    want = f"{SERVER}: {count} tools awaiting approval"
    calls = wait_for(f"Notify with {want!r} on the bus", lambda: [c for c in notifications.notify_calls() if c["summary"] == want], timeout=20)
    assert calls[0]["strings"][0] == "Portcullis", calls[0]
    assert "Review" in calls[0]["strings"], calls[0]
    status = app.invoke("desktop_status")
    assert status["notifications"] == {"state": "ready", "daemon": "dunst"}, status
    # One server listed its tools once: one notification, not one per tool. That no
    # second one comes is a check that something does not happen: it needs a window.
    time.sleep(3)
    about_it = [c for c in notifications.notify_calls() if (c["summary"] or "").startswith(f"{SERVER}:")]
    assert len(about_it) == 1, about_it


def test_clicking_the_notification_opens_the_popup(app: App, notifications) -> None:
    call = next(c for c in notifications.notify_calls() if (c["summary"] or "").startswith(f"{SERVER}:"))
    assert call["id"], call
    shown = subprocess.run(["dunstctl", "count", "displayed"], capture_output=True, text=True, timeout=10, check=True)
    assert int(shown.stdout) >= 1, "dunst shows no notification"
    # The person clicks it: dunst invokes its default action, as a mouse click does.
    subprocess.run(["dunstctl", "action", "0"], check=True, timeout=10)
    invoked = wait_for("dunst to signal ActionInvoked", lambda: notifications.signals("ActionInvoked"))
    assert invoked[0] == [f"uint32 {call['id']}", 'string "default"'], invoked
    app.windows["popup"] = app.find_window("/ui/popup.html")
    app.switch("popup")
    # The popup has its own token too: its decisions are recorded as the popup's.
    app.switch("main")
    window_token = app.driver.execute_script("return window.__PORTCULLIS__.token")
    app.switch("popup")
    popup_token = app.driver.execute_script("return window.__PORTCULLIS__.token")
    assert popup_token and popup_token not in (app.token(), window_token)


def test_the_popup_approves_a_pending_tool_which_agents_can_then_call(app: App) -> None:
    name = f"{SERVER}__{TOOL}"
    before = len(pending_of(app))
    error = mcp_error(app, name, {"message": "too early"})
    assert error and error["code"] == -32003, error
    app.switch("popup")
    card = wait_for(f"{SERVER}/{TOOL} in the popup", lambda: app.driver.find_element(By.CSS_SELECTOR, f'[data-tool="{SERVER}/{TOOL}"]'))
    app.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", card)
    time.sleep(0.3)
    app.screenshot("desktop-popup.png")
    card.find_element(By.XPATH, ".//button[normalize-space()='Approve']").click()
    wait_for("echo to leave the pending list", lambda: TOOL not in {t["name"] for t in pending_of(app)})
    assert len(pending_of(app)) == before - 1

    async def call() -> str:
        async with Client(app.runtime()["mcp_url"], mode="legacy", read_timeout_seconds=30) as client:
            result = await client.call_tool(name, {"message": "approved in the popup"})
            assert not result.is_error, result
            return harness.text_of(result)

    assert anyio.run(call) == "Echo: approved in the popup"
    tray = wait_for("the tray to count one less", lambda: (t := app.invoke("tray_state"))["pending"] == f"{before - 1} tools awaiting approval" and t)
    assert tray["attention"], tray
    decisions = [a for a in app.admin("GET", "/activity?limit=50") if a.get("tool") == TOOL and a.get("actor")]
    assert decisions and decisions[-1]["actor"] == "popup", decisions


def test_pause_refuses_agents_until_resumed(app: App) -> None:
    name = f"{SERVER}__{TOOL}"
    status = app.invoke("set_paused", {"paused": True})
    assert status["paused"], status
    tray = app.invoke("tray_state")
    assert tray["pause"] == "Resume gateway" and tray["address"].startswith("Paused: listening on"), tray
    error = mcp_error(app, name, {"message": "while paused"})
    assert error and error["code"] == -32004 and "paused" in error["message"], error
    assert app.admin("GET", "/gateway") == {"paused": True}
    app.invoke("set_paused", {"paused": False})
    assert app.invoke("tray_state")["pause"] == "Pause gateway"
    assert mcp_error(app, name, {"message": "resumed"}) is None


def test_closing_the_window_keeps_the_app_in_the_tray(app: App) -> None:
    app_pid = app.runtime()["pid"]
    web_processes = len(desktop.web_processes(app_pid))
    app.switch("main")
    # The title bar's close button is the window manager's (there is none under
    # Xvfb); close_window takes the same path: a close request the app answers.
    app.driver.execute_script("setTimeout(() => window.__TAURI_INTERNALS__.invoke('close_window'), 200)")
    app.switch("popup")

    def main_window() -> dict | None:
        return next((w for w in app.invoke("windows") if w["label"] == "main"), None)

    # Closed is gone, webview and all: its WebKit web process exits.
    wait_for("the main window to go", lambda: main_window() is None)
    wait_for("the main window's web process to exit", lambda: len(desktop.web_processes(app_pid)) == web_processes - 1)
    assert app.invoke("desktop_status")["running"]
    assert app.admin("GET", "/servers")[0]["state"] == "ready"
    app.invoke("open_window")
    wait_for("the main window to show again", lambda: (w := main_window()) and w["visible"])
    wait_for("a web process for it again", lambda: len(desktop.web_processes(app_pid)) == web_processes)


def test_quit_stops_the_upstream_and_removes_the_runtime_file(app: App, home: Path) -> None:
    app_pid = app.runtime()["pid"]
    upstream_pid = app.admin("GET", "/servers")[0]["pid"]
    assert upstream_pid and alive(upstream_pid)
    app.switch("popup")
    app.driver.execute_script("window.__TAURI_INTERNALS__.invoke('quit')")
    wait_for("the app to exit", lambda: not alive(app_pid), timeout=20)
    assert not alive(upstream_pid), f"server-everything (pid {upstream_pid}) outlived the app"
    assert not (home / "gateway.json").exists()
    log = app.log()
    assert "the gateway stopped" in log, log[-3000:]
    assert "panicked" not in log, log[-3000:]


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"
