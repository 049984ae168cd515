"""Fixtures for the desktop tests: a D-Bus session with a real notification
daemon (dunst) and a monitor recording what is sent to it.

These tests run under `xvfb-run -a dbus-run-session --` (scripts/test-desktop.sh
does that); anywhere else they fail and say so, rather than skip.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import desktop


@pytest.fixture(scope="session")
def graphical_session() -> None:
    """Fails unless there is an X display and a D-Bus session bus."""
    missing = [v for v in ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS") if not os.environ.get(v)]
    assert not missing, f"{', '.join(missing)} not set: run these tests with scripts/test-desktop.sh (xvfb-run -a dbus-run-session -- …)"


class Monitor:
    """`dbus-monitor` on the notification interface, logged to a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        binary = desktop.require("dbus-monitor", "apt-get install dbus (scripts/setup.sh does)")
        self.proc = subprocess.Popen(
            [binary, "--session", "interface='org.freedesktop.Notifications'", "type='method_return',sender='org.freedesktop.Notifications'"],
            stdout=path.open("wb"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def text(self) -> str:
        return self.path.read_text(errors="replace")

    def notify_calls(self) -> list[dict]:
        """Every Notify call seen: its serial, summary and body, and the id the daemon answered."""
        blocks = _blocks(self.text())
        calls = []
        for head, lines in blocks:
            if "member=Notify" in head and head.startswith("method call"):
                strings = [_string(l) for l in lines if l.strip().startswith("string ")]
                serial = _field(head, "serial")
                # app_name, (uint32 replaces_id), app_icon, summary, body, actions…
                calls.append({"serial": serial, "strings": strings, "summary": strings[2] if len(strings) > 2 else None, "id": None})
        for head, lines in blocks:
            if head.startswith("method return"):
                reply_to = _field(head, "reply_serial")
                for c in calls:
                    if c["serial"] == reply_to:
                        ids = [l.split()[1] for l in lines if l.strip().startswith("uint32 ")]
                        c["id"] = int(ids[0]) if ids else None
        return calls

    def signals(self, member: str) -> list[list[str]]:
        """The arguments (as printed) of every signal `member` seen."""
        return [[l.strip() for l in lines] for head, lines in _blocks(self.text()) if head.startswith("signal ") and f"member={member}" in head]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


HEADS = ("method call ", "method return ", "signal ", "error ")


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    """dbus-monitor's output as (head line, argument lines); a string with a
    newline continues on a line of its own, so only known heads start a block."""
    blocks: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith(HEADS):
            blocks.append((line, []))
        elif blocks:
            blocks[-1][1].append(line)
    return blocks


def _field(head: str, name: str) -> str | None:
    for part in head.split():
        if part.startswith(name + "="):
            return part.split("=", 1)[1]
    return None


def _string(line: str) -> str:
    s = line.strip()[len("string "):]
    return s[1:-1] if s.startswith('"') and s.endswith('"') else s


@pytest.fixture(scope="session")
def notifications(graphical_session, tmp_path_factory) -> Iterator[Monitor]:
    """dunst serving org.freedesktop.Notifications, and a monitor of the interface."""
    binary = desktop.require("dunst", "apt-get install dunst (scripts/setup.sh does)")
    logs = tmp_path_factory.mktemp("dbus")
    monitor = Monitor(logs / "dbus-monitor.log")
    daemon = subprocess.Popen([binary], stdout=(logs / "dunst.log").open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    # dunst owns the name once GetServerInformation answers.
    desktop.wait_for(
        "dunst on the session bus",
        lambda: subprocess.run(["dunstctl", "is-paused"], capture_output=True, timeout=5).returncode == 0,
        timeout=15,
    )
    time.sleep(0.2)
    yield monitor
    monitor.stop()
    daemon.terminate()
    try:
        daemon.wait(timeout=5)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()
