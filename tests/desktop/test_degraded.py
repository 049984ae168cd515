"""The desktop app where things are missing: it says what, and keeps working.

- Without a D-Bus session bus, notifications cannot be sent: the app runs, the
  gateway serves, and the status says why notifications are off and what to do.
- When the listen address is taken (another Portcullis runs), the window shows
  why the gateway did not start, with a hint, instead of the UI.
"""

from __future__ import annotations

import socket
import time

import pytest
from selenium.webdriver.common.by import By

import harness
import trustkit
from desktop import App, wait_for

pytestmark = pytest.mark.usefixtures("graphical_session")


def test_without_a_session_bus_notifications_are_off_and_say_why(tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[gateway]\nlisten = "127.0.0.1:0"\n')
    trustkit.cli(home, "upstream", "add", "--name", "everything", "--command", str(harness.EVERYTHING), "--args", "stdio")
    app = App.launch(home, env={"DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"})
    try:
        status = wait_for("the notification state", lambda: (s := app.invoke("desktop_status"))["notifications"]["state"] != "unknown" and s)
        assert status["running"], status
        n = status["notifications"]
        assert n["state"] == "unavailable", n
        assert "D-Bus session bus" in n["reason"] and "dunst" in n["hint"], n
        # Tools becoming pending (which would notify) do not bring the app down.
        wait_for("pending tools", lambda: app.invoke("desktop_status")["pending"] > 0)
        # That the app stays up is a check that something does not happen: it needs a window.
        time.sleep(3)
        assert app.invoke("tray_state")["attention"]
        assert app.driver_proc.poll() is None
        assert "panicked" not in app.log()
    finally:
        app.quit()


def test_a_taken_port_is_explained_in_the_window(tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        addr = "127.0.0.1:%d" % taken.getsockname()[1]
        (home / "config.toml").write_text(f'[gateway]\nlisten = "{addr}"\n')
        app = App.launch(home)
        try:
            status = app.invoke("desktop_status")
            assert not status["running"], status
            assert status["error"]["kind"] == "port-in-use", status
            assert status["error"]["hint"], status
            body = wait_for("the error page", lambda: (t := app.driver.find_element(By.TAG_NAME, "body").text) and "not running" in t and t)
            assert f"cannot listen on {addr}: the address is in use" in body, body
            assert "What to do:" in body, body
            assert app.invoke("tray_state")["address"].startswith("Not running: cannot listen on"), app.invoke("tray_state")
        finally:
            app.quit()
