"""A real browser for the web UI tests: Debian's headless Chromium, driven by
playwright-core through tests/ui/driver.mjs (one JSON request per line on its
stdin, one answer per line on its stdout).

    with Browser.start() as b:
        b.goto(f"{base}/ui/")
        b.fill("#token-input", token)
        b.click('role=button[name="Open"]')
        b.wait('[data-server="time"]')

Selectors are Playwright locator strings. Every call fails the test with the
browser's message (and the page's console errors) when the page does not do
what was asked within the timeout.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import harness

DRIVER = harness.REPO_ROOT / "tests" / "ui" / "driver.mjs"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(os.environ.get("PORTCULLIS_SCREENSHOTS", harness.REPO_ROOT / "target" / "ui-screenshots")).resolve()
"""Where the tests put their screenshots. `PORTCULLIS_SCREENSHOTS=docs/screenshots` refreshes the README's."""


def missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM}: run scripts/setup.sh (it installs Debian's chromium)"
    if not (harness.REPO_ROOT / "tests" / "node_modules" / "playwright-core").is_dir():
        return "playwright-core is not installed: run scripts/setup.sh"
    if shutil.which("node") is None:
        return "no node on PATH"
    return None


class BrowserError(AssertionError):
    pass


class Browser:
    def __init__(self, proc: subprocess.Popen, timeout: float) -> None:
        self.proc = proc
        self.timeout = timeout
        self._answers: queue.Queue[dict] = queue.Queue()
        self._next = 0
        self._stderr: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()
        hello = self._answer(0, 60.0)
        self.version = hello["value"]["version"]

    @classmethod
    def start(cls, timeout: float = 15.0, color_scheme: str = "light") -> Browser:
        env = {**os.environ, "CHROMIUM": str(CHROMIUM), "UI_TIMEOUT_MS": str(int(timeout * 1000)), "UI_COLOR_SCHEME": color_scheme}
        proc = subprocess.Popen(
            ["node", str(DRIVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=DRIVER.parent,
            start_new_session=True,
        )
        return cls(proc, timeout)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            try:
                self._answers.put(json.loads(raw))
            except json.JSONDecodeError:
                self._stderr.append(raw.decode(errors="replace"))
        self._answers.put({"id": None, "ok": False, "error": "the browser driver exited"})

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in iter(self.proc.stderr.readline, b""):
            self._stderr.append(raw.decode(errors="replace"))

    def _answer(self, id: int, timeout: float) -> dict:
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            raise BrowserError(f"the browser driver did not answer within {timeout} s; its stderr:\n{''.join(self._stderr)[-4000:]}") from None
        if answer.get("id") != id or not answer.get("ok"):
            raise BrowserError(f"{answer.get('error')}\n(driver stderr: {''.join(self._stderr)[-2000:]})")
        return answer

    def call(self, op: str, *args: Any) -> Any:
        self._next += 1
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({"id": self._next, "op": op, "args": list(args)}) + "\n").encode())
        self.proc.stdin.flush()
        try:
            return self._answer(self._next, self.timeout * 2 + 10)["value"]
        except BrowserError as e:
            if op != "errors":
                errors = self.errors()
                if errors:
                    raise BrowserError(f"{op}{tuple(args)!r} failed: {e}\npage errors: {errors}") from None
            raise BrowserError(f"{op}{tuple(args)!r} failed: {e}") from None

    # The operations the tests use; see tests/ui/driver.mjs.
    def goto(self, url: str) -> str:
        return self.call("goto", url)

    def reload(self) -> None:
        self.call("reload")

    def click(self, selector: str) -> None:
        self.call("click", selector)

    def fill(self, selector: str, text: str) -> None:
        self.call("fill", selector, text)

    def press(self, selector: str, key: str) -> None:
        self.call("press", selector, key)

    def select(self, selector: str, value: str) -> None:
        self.call("select", selector, value)

    def wait(self, selector: str, text: str | None = None, timeout: float | None = None) -> None:
        self.call("wait", selector, text, int(timeout * 1000) if timeout else None)

    def gone(self, selector: str, timeout: float | None = None) -> None:
        self.call("gone", selector, int(timeout * 1000) if timeout else None)

    def text(self, selector: str) -> str:
        return self.call("text", selector)

    def texts(self, selector: str) -> list[str]:
        return self.call("texts", selector)

    def count(self, selector: str) -> int:
        return self.call("count", selector)

    def value(self, selector: str) -> str:
        return self.call("value", selector)

    def eval(self, js: str) -> Any:
        return self.call("eval", js)

    def block(self, glob: str) -> None:
        """Requests to URLs matching `glob` fail from now on (e.g. the live event stream)."""
        self.call("block", glob)

    def unblock(self, glob: str) -> None:
        self.call("unblock", glob)

    def errors(self) -> list[str]:
        return self.call("errors")

    def screenshot(self, name: str, full_page: bool = False) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.call("screenshot", str(path), full_page)
        return path

    def viewport(self, width: int, height: int) -> None:
        self.call("viewport", width, height)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=15)
            except (subprocess.TimeoutExpired, BrokenPipeError, OSError):
                self.proc.kill()
                self.proc.wait()
