"""Driving the desktop app as a person would, for tests/desktop.

`App.launch(home)` starts a tauri-driver (which starts WebKitWebDriver) with
PORTCULLIS_HOME=home and opens a WebDriver session whose application is the
`portcullis-desktop` binary: that launches the app, which starts the gateway
in-process, opens its window on the web UI and puts its icon in the tray.
Each app gets its own driver, because the app inherits the driver's
environment (tauri-driver passes only a binary and arguments).

The tray menu is native and out of WebDriver's reach; its actions are the
same functions as the desktop commands (src-tauri/src/actions.rs), which the
tests invoke from the page through Tauri's IPC, as the web UI can.

Everything must be there: a missing tool fails the test with what to install,
never a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests" / "python"))
sys.path.insert(0, str(REPO_ROOT / "tests" / "bench"))

import harness  # noqa: E402  (tests/python: peers and the gateway binary)
from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.options import ArgOptions  # noqa: E402



def target_dir() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target"))
    return target if target.is_absolute() else REPO_ROOT / target


def app_bin() -> Path:
    """The desktop app: $PORTCULLIS_DESKTOP_BIN, else <target>/debug/portcullis-desktop."""
    override = os.environ.get("PORTCULLIS_DESKTOP_BIN")
    return Path(override).resolve() if override else target_dir() / "debug" / "portcullis-desktop"


def tauri_driver_bin() -> Path:
    """tauri-driver, installed into .deps/cargo by scripts/setup.sh."""
    override = os.environ.get("TAURI_DRIVER")
    return Path(override) if override else REPO_ROOT / ".deps" / "cargo" / "bin" / "tauri-driver"


def web_processes(app_pid: int) -> list[int]:
    """The WebKit web processes under the app: one per open window."""
    from proctree import tree  # tests/bench: the process tree read from /proc

    def comm(pid: int) -> str:
        try:
            return Path(f"/proc/{pid}/comm").read_text().strip()
        except (FileNotFoundError, ProcessLookupError):
            return ""

    return [p for p in tree(app_pid) if comm(p) == "WebKitWebProces"]


def require(path: Path | str, what: str) -> str:
    """The path of a needed program, or a failure that says how to get it."""
    found = shutil.which(str(path))
    assert found, f"{path} is missing: {what}"
    return found


def wait_for(what: str, check: Callable[[], object], timeout: float = 30.0, interval: float = 0.2):
    """Polls `check` until it returns something truthy; fails with the last value."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            last = check()
        except Exception as e:  # noqa: BLE001 (the last error is the message)
            last = e
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last: {last!r}")
        time.sleep(interval)


@dataclass
class App:
    """One running desktop app and the WebDriver session that drives it."""

    home: Path
    driver_proc: subprocess.Popen
    driver: webdriver.Remote
    log_path: Path
    windows: dict[str, str] = field(default_factory=dict)  # label -> WebDriver handle

    @classmethod
    def launch(cls, home: Path, env: dict[str, str | None] | None = None, args: list[str] | None = None) -> App:
        """Starts the app with PORTCULLIS_HOME=home (plus `env`; a None value unsets)."""
        binary = app_bin()
        assert binary.exists(), f"{binary} is missing: build it with `cargo build -p portcullis-desktop`"
        driver_bin = require(tauri_driver_bin(), "run scripts/setup.sh (it installs tauri-driver into .deps/cargo)")
        native = require("WebKitWebDriver", "apt-get install webkit2gtk-driver (scripts/setup.sh does)")
        port = harness.free_port()
        native_port = wait_for("a second free port", lambda: (p := harness.free_port()) != port and p)
        full_env = {**os.environ, "PORTCULLIS_HOME": str(home), "PORTCULLIS_LOG": "portcullis=info,portcullis_desktop=debug"}
        for k, v in (env or {}).items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = v
        log_path = home / "desktop.log"
        log = log_path.open("ab")
        proc = subprocess.Popen(
            [driver_bin, "--port", str(port), "--native-port", str(native_port), "--native-driver", native],
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            # tauri-driver forwards to WebKitWebDriver: both must listen before a session.
            wait_for("tauri-driver and WebKitWebDriver to listen", lambda: _port_open(port) and _port_open(native_port), timeout=20)
            options = ArgOptions()
            options.set_capability("browserName", "wry")
            options.set_capability("tauri:options", {"application": str(binary), "args": args or []})
            driver = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=options)
        except BaseException:
            _stop(proc)
            raise
        app = cls(home=home, driver_proc=proc, driver=driver, log_path=log_path)
        app.windows["main"] = driver.current_window_handle
        return app

    # ---- the gateway it runs -------------------------------------------------

    def runtime(self) -> dict:
        """gateway.json, which the app writes as `portcullis serve` does."""
        return json.loads((self.home / "gateway.json").read_text())

    def token(self) -> str:
        return (self.home / "admin.token").read_text().strip()

    def admin(self, method: str, path: str, body: dict | None = None):
        """Calls the admin API of the app's gateway."""
        import urllib.request

        req = urllib.request.Request(
            self.runtime()["api_url"] + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    # ---- the page and the desktop commands -----------------------------------

    def invoke(self, command: str, args: dict | None = None):
        """Invokes a desktop command from the current page, as the web UI would.
        Returns the value, or raises AssertionError with the command's {kind, message, hint}."""
        outcome = self.driver.execute_async_script(
            """
            const [cmd, args, done] = arguments;
            window.__TAURI_INTERNALS__.invoke(cmd, args)
              .then((value) => done({ ok: true, value }))
              .catch((error) => done({ ok: false, error }));
            """,
            command,
            args or {},
        )
        if not outcome["ok"]:
            raise AssertionError(f"{command} failed: {outcome['error']}")
        return outcome["value"]

    def eval_async(self, expression: str):
        """The value of a JavaScript expression that gives a promise, in the current page."""
        outcome = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            f"Promise.resolve().then(() => ({expression}))"
            ".then((value) => done({ ok: true, value }), (error) => done({ ok: false, error: String(error) }));"
        )
        if not outcome["ok"]:
            raise AssertionError(f"{expression} failed: {outcome['error']}")
        return outcome["value"]

    def switch(self, label: str) -> None:
        self.driver.switch_to.window(self.windows[label])

    def find_window(self, label_url_part: str, timeout: float = 20.0) -> str:
        """Waits for a window whose URL contains `label_url_part`; returns its handle."""

        def look():
            for handle in self.driver.window_handles:
                self.driver.switch_to.window(handle)
                if label_url_part in self.driver.current_url:
                    return handle
            return None

        return wait_for(f"a window at *{label_url_part}*", look, timeout=timeout)

    def screenshot(self, name: str) -> Path:
        """Saves what the current window shows in <target>/desktop-screenshots/, or in
        $PORTCULLIS_SCREENSHOTS (PORTCULLIS_SCREENSHOTS=docs/screenshots refreshes the README's)."""
        folder = Path(os.environ.get("PORTCULLIS_SCREENSHOTS") or target_dir() / "desktop-screenshots")
        folder = folder if folder.is_absolute() else REPO_ROOT / folder
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        assert self.driver.save_screenshot(str(path)), f"no screenshot {path}"
        return path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def quit(self) -> None:
        try:
            self.driver.quit()
        except Exception:  # noqa: BLE001 (the app may be gone already)
            pass
        _stop(self.driver_proc)


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)
