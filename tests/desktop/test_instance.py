"""One app per person, and an app that starts at login.

- Launching the app again while it runs shows the running app's window (on
  the page a `portcullis://` link names, the import page on a client's config
  file, the popup on one server's items) and exits, instead of failing on the
  port; `portcullis serve` for the same data refuses and says where the app
  serves.
- "Start at login" writes an XDG autostart entry (and removes it); the
  entry's Exec line starts the app in the tray, serving.

The app runs with its own XDG_CONFIG_HOME, so the autostart entry lands in
the test's folder, never in the machine's.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

import desktop
import harness
import trustkit
from desktop import App, wait_for

pytestmark = pytest.mark.usefixtures("graphical_session")


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("instance-home")
    (home / "config.toml").write_text('[gateway]\nlisten = "127.0.0.1:0"\n')
    return home


@pytest.fixture(scope="module")
def xdg_config(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("xdg-config")


@pytest.fixture(scope="module")
def app(home, xdg_config) -> App:
    app = App.launch(home, env={"XDG_CONFIG_HOME": str(xdg_config)})
    wait_for("gateway.json from the app", app.runtime)
    yield app
    app.quit()


def env_of(home: Path, xdg_config: Path) -> dict[str, str]:
    return {**os.environ, "PORTCULLIS_HOME": str(home), "XDG_CONFIG_HOME": str(xdg_config)}


def main_window(app: App) -> dict | None:
    return next((w for w in app.invoke("windows") if w["label"] == "main"), None)


def launch_again(home: Path, xdg_config: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """A second `portcullis-desktop ARGS…`: it hands them over and exits."""
    second = subprocess.run([str(desktop.app_bin()), *args], env=env_of(home, xdg_config), cwd=cwd, capture_output=True, text=True, timeout=30)
    assert second.returncode == 0, second
    assert "Portcullis is already running, serving on" in second.stdout, second
    return second


def close_main(app: App) -> None:
    """Closes the main window as its close button does; it is gone after."""
    app.switch("main")
    handle = app.windows["main"]
    app.driver.execute_script("setTimeout(() => window.__TAURI_INTERNALS__.invoke('close_window'), 200)")
    wait_for("the main window to close", lambda: handle not in app.driver.window_handles)


def test_the_first_run_opens_on_the_welcome_page(app: App) -> None:
    app.switch("main")
    wait_for("the window on #/welcome (no server configured)", lambda: app.driver.current_url.endswith("#/welcome"))
    wait_for("the welcome page", lambda: "Welcome to Portcullis" in app.driver.find_element(By.TAG_NAME, "body").text)


def test_a_second_launch_shows_the_running_window_on_the_linked_page(app: App, home: Path, xdg_config: Path) -> None:
    close_main(app)
    second = launch_again(home, xdg_config, "portcullis://activity", "not-a-link")
    assert f"Portcullis is already running, serving on {app.runtime()['mcp_url']}" in second.stdout, second
    assert 'ignored "not-a-link"' in second.stderr and "hint:" in second.stderr, second
    # The closed window was destroyed: a new one is built, on the linked page.
    app.windows["main"] = app.find_window("#/activity")
    shown = wait_for("the main window to show on #/activity", lambda: (w := main_window(app)) and w["visible"] and w["url"].endswith("#/activity") and w)
    assert shown["url"].startswith(app.runtime()["api_url"].removesuffix("/api/v1") + "/ui/"), shown
    # Still one app: the runtime file names the first process.
    assert "launched again with" in app.log()


def test_a_second_launch_with_a_client_config_opens_its_import(app: App, home: Path, xdg_config: Path, tmp_path: Path) -> None:
    config = tmp_path / "mcp.json"
    everything = {"command": str(harness.EVERYTHING), "args": ["stdio"]}
    config.write_text(json.dumps({"mcpServers": {"alpha": everything, "beta": everything}}))
    close_main(app)
    # A file that cannot be read: the import page says why, with what to do.
    launch_again(home, xdg_config, str(tmp_path / "missing.json"))
    app.windows["main"] = app.find_window("#/import")
    error = wait_for("the import page to say why", lambda: app.driver.find_element(By.ID, "import").text)
    assert f"cannot read {tmp_path / 'missing.json'}" in error and "hint" in error.lower(), error
    # A relative path, as a person types it: the running app gets it absolute,
    # and the page already open shows the new file.
    launch_again(home, xdg_config, "mcp.json", cwd=tmp_path)
    path = wait_for("the import page on the file", lambda: app.driver.find_element(By.ID, "import-path").text)
    assert path == str(config), path
    listed = [li.get_attribute("data-server") for li in app.driver.find_elements(By.CSS_SELECTOR, "#import li[data-server]")]
    assert listed == ["alpha", "beta"], listed
    # Nothing is imported until the person clicks.
    assert [s["name"] for s in app.admin("GET", "/servers")] == []
    app.driver.find_element(By.ID, "import-go").click()
    outcome = wait_for("the import's outcome", lambda: app.driver.find_element(By.ID, "import-outcome").text)
    assert "Imported alpha, beta." in outcome, outcome
    assert sorted(s["name"] for s in app.admin("GET", "/servers")) == ["alpha", "beta"]
    app.screenshot("import.png")


def test_an_approve_link_opens_the_popup_on_that_servers_items(app: App, home: Path, xdg_config: Path) -> None:
    def waiting() -> set[str]:
        return {t["server"] for t in app.admin("GET", "/tools/pending")}

    wait_for("tools of alpha and beta to wait for approval", lambda: waiting() >= {"alpha", "beta"}, timeout=60)
    launch_again(home, xdg_config, "portcullis://approve?server=beta")
    app.windows["popup"] = app.find_window("popup.html?server=beta")
    wait_for("beta's tools in the popup", lambda: app.driver.find_elements(By.CSS_SELECTOR, "section[data-group='beta']"))
    assert app.driver.find_element(By.ID, "approvals-scope").get_attribute("data-server") == "beta"
    assert not app.driver.find_elements(By.CSS_SELECTOR, "section[data-group='alpha']"), "alpha's tools shown in beta's popup"
    popup = next(w for w in app.invoke("windows") if w["label"] == "popup")
    assert popup["visible"], popup
    # The link only chose what is shown: nothing was decided.
    assert waiting() >= {"alpha", "beta"}
    app.driver.execute_script("setTimeout(() => window.__TAURI_INTERNALS__.invoke('close_window'), 200)")
    wait_for("the popup to close", lambda: app.windows["popup"] not in app.driver.window_handles)
    app.switch("main")


def test_portcullis_serve_says_the_app_already_serves(app: App, home: Path) -> None:
    serve = subprocess.run(
        [str(harness.gateway_bin()), "serve"],
        env={**os.environ, "PORTCULLIS_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert serve.returncode != 0, serve
    runtime = app.runtime()
    assert f"error: the Portcullis app already serves on {runtime['mcp_url']} (pid {runtime['pid']})" in serve.stderr, serve.stderr
    assert "hint:" in serve.stderr and "Quit Portcullis" in serve.stderr, serve.stderr
    assert json.loads((home / "gateway.json").read_text())["pid"] == runtime["pid"], "serve must leave the app's runtime file alone"


def test_start_at_login_writes_an_autostart_entry_that_starts_the_app(app: App, home: Path, xdg_config: Path, tmp_path: Path) -> None:
    for name in ("alpha", "beta"):  # imported above; the app started at login serves none
        app.admin("DELETE", f"/servers/{name}")
    entry = xdg_config / "autostart" / "portcullis.desktop"
    before = app.invoke("autostart")
    assert before == {"supported": True, "enabled": False, "entry": str(entry)}, before
    # The Settings page of the window has the toggle (a browser does not).
    app.switch("main")
    app.driver.execute_script("location.hash = '#/settings'")
    toggle = wait_for("Start at login on the Settings page", lambda: app.driver.find_element(By.CSS_SELECTOR, "#settings-autostart"))
    assert not toggle.is_selected()
    toggle.click()
    wait_for("the autostart entry", entry.exists)
    assert app.invoke("autostart")["enabled"] is True
    assert app.invoke("tray_state")["autostart"] is True
    text = entry.read_text()
    assert text.startswith("[Desktop Entry]\nType=Application\n"), text
    exec_line = re.search(r"^Exec=(.*)$", text, re.M).group(1)
    argv = shlex.split(exec_line)
    assert argv == ["env", f"PORTCULLIS_HOME={home}", str(desktop.app_bin()), "--hidden"], argv
    # Off removes the entry; on writes it again.
    assert app.invoke("set_autostart", {"enabled": False})["enabled"] is False
    assert not entry.exists()
    assert app.invoke("tray_state")["autostart"] is False
    app.invoke("set_autostart", {"enabled": True})
    assert entry.read_text() == text

    # At login the app is not running yet: quit it, then start what the entry says.
    pid = app.runtime()["pid"]
    app.invoke("quit")
    wait_for("the app to exit", lambda: not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0], timeout=30)
    log = tmp_path / "autostart.log"
    proc = subprocess.Popen(argv, env={**os.environ, "XDG_CONFIG_HOME": str(xdg_config)}, stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        runtime = wait_for("the app started at login to serve", lambda: proc.poll() is None and (home / "gateway.json").exists() and json.loads((home / "gateway.json").read_text()), timeout=60)
        assert runtime["served_by"] == "desktop", runtime
        with trustkit.McpSession(runtime["mcp_url"], client_name="autostart-test") as s:
            assert "tools" in s.request("tools/list", {})
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    assert "panicked" not in log.read_text(errors="replace")
