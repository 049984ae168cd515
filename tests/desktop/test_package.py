"""The Debian package as a person gets it: built by scripts/package-deb.sh from
the binaries CI already built, installed on this machine with dpkg, the app
started from its menu entry's Exec line (under Xvfb, in the test's D-Bus
session), seen serving /mcp and putting its icon on the bus as a
StatusNotifierItem, then removed with nothing left but the person's data.

It installs into /usr: it needs root (CI and the dev machines run as root) and
fails, saying so, when a `portcullis` package is already installed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

import desktop
import trustkit
from desktop import REPO_ROOT, wait_for

PACKAGE = "portcullis"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

pytestmark = pytest.mark.usefixtures("graphical_session")


@pytest.fixture(scope="module")
def deb(tmp_path_factory) -> Path:
    """The .deb, built from the binaries under test."""
    out = tmp_path_factory.mktemp("packages")
    env = {**os.environ, "OUT": str(out), "PORTCULLIS_DESKTOP_BIN": str(desktop.app_bin())}
    built = subprocess.run([str(REPO_ROOT / "scripts" / "package-deb.sh")], env=env, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    path = Path(built.stdout.strip().splitlines()[-1])
    assert path.is_file() and path.parent == out, built.stdout
    return path


def contents(deb: Path) -> list[str]:
    """The paths the package installs (files and links), as /usr/…."""
    listing = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True).stdout
    paths = []
    for line in listing.splitlines():
        name = line.split(None, 5)[5].split(" -> ")[0]
        if not line.startswith("d"):
            paths.append(name.removeprefix("."))
    return paths


def installed() -> bool:
    status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", PACKAGE], capture_output=True, text=True)
    return status.returncode == 0 and "installed" in status.stdout.split()


def test_the_package_holds_the_app_the_cli_an_entry_and_every_icon_size(deb: Path) -> None:
    files = contents(deb)
    for want in ["/usr/bin/portcullis", "/usr/bin/portcullis-desktop", f"/usr/share/applications/{PACKAGE}.desktop"]:
        assert want in files, files
    for n in ICON_SIZES:
        assert f"/usr/share/icons/hicolor/{n}x{n}/apps/{PACKAGE}.png" in files, files
    fields = subprocess.run(["dpkg-deb", "--field", str(deb), "Package", "Version", "Depends"], capture_output=True, text=True, check=True).stdout
    assert f"Package: {PACKAGE}" in fields, fields
    # dpkg-shlibdeps found WebKit and GTK; the tray's indicator is named by hand.
    for lib in ("libwebkit2gtk-4.1-0", "libgtk-3-0", "libayatana-appindicator3-1"):
        assert lib in fields, fields


def test_the_installed_app_starts_from_its_menu_entry_serves_shows_its_tray_and_uninstalls_cleanly(deb: Path, tmp_path: Path) -> None:
    assert os.geteuid() == 0, "installing a package needs root"
    assert not installed(), f"a {PACKAGE} package is already installed here; remove it first (dpkg --purge {PACKAGE})"
    files = contents(deb)
    subprocess.run(["dpkg", "--install", str(deb)], check=True, capture_output=True, timeout=300)
    proc = None
    home = tmp_path / "home"
    try:
        assert installed()
        for f in files:
            assert Path(f).exists(), f"{f} is not installed"
        # The CLI is on the PATH.
        path_env = {**os.environ, "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
        version = subprocess.run(["portcullis", "--version"], env=path_env, capture_output=True, text=True, timeout=30)
        assert version.returncode == 0 and version.stdout.startswith("portcullis "), version

        entry = Path(f"/usr/share/applications/{PACKAGE}.desktop").read_text()
        exec_line = re.search(r"^Exec=(.*)$", entry, re.M)
        assert exec_line, entry
        argv = [a for a in shlex.split(exec_line.group(1)) if not re.fullmatch(r"%[fFuUick]", a)]
        assert argv[0] == "portcullis-desktop", argv

        home.mkdir()
        (home / "config.toml").write_text('[gateway]\nlisten = "127.0.0.1:0"\n')
        env = {**path_env, "PORTCULLIS_HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"), "PORTCULLIS_LOG": "portcullis=info,portcullis_desktop=debug"}
        log = tmp_path / "app.log"
        proc = subprocess.Popen(argv, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        runtime = wait_for("gateway.json from the installed app", lambda: _runtime(home, proc, log), timeout=60)
        assert runtime["pid"] == proc.pid and runtime["served_by"] == "desktop", runtime
        with trustkit.McpSession(runtime["mcp_url"], client_name="package-test") as s:
            # No server yet: agents see the search surface's own tools.
            assert "search_tools" in {t["name"] for t in s.request("tools/list", {})["tools"]}
        # The tray icon: the app's connection exports a StatusNotifierItem.
        wait_for("the app's StatusNotifierItem on the session bus", lambda: _exports_tray_item(proc.pid), timeout=30)

        # The entry handles portcullis:// links: GLib, which desktops use to open a
        # URI, finds it; opening a link launches the app again, which hands the link
        # to the running app and exits.
        handler = subprocess.run(["gio", "mime", "x-scheme-handler/portcullis"], env=env, capture_output=True, text=True, timeout=30)
        assert f"{PACKAGE}.desktop" in handler.stdout, handler
        subprocess.run(["gio", "open", "portcullis://settings"], env=env, check=True, capture_output=True, timeout=30)
        wait_for("the running app to get the link", lambda: 'launched again with ["portcullis://settings"]' in log.read_text(errors="replace"), timeout=30)
        wait_for("the second launch to exit", lambda: _running("/usr/bin/portcullis-desktop") == [proc.pid], timeout=30)

        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert not (home / "gateway.json").exists()
        assert "panicked" not in log.read_text(errors="replace")
    finally:
        if proc and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        removed = subprocess.run(["dpkg", "--purge", PACKAGE], capture_output=True, text=True, timeout=300)
    assert removed.returncode == 0, removed.stderr
    assert not installed()
    left = [f for f in files if os.path.lexists(f)]
    assert not left, f"left behind after dpkg --purge: {left}"
    # The person's data stays: config, token, store.
    for kept in ("config.toml", "admin.token", "portcullis.db"):
        assert (home / kept).exists(), kept


def _runtime(home: Path, proc: subprocess.Popen, log: Path):
    assert proc.poll() is None, f"the app exited ({proc.returncode}):\n{log.read_text(errors='replace')[-3000:]}"
    path = home / "gateway.json"
    return path.exists() and json.loads(path.read_text())


def _running(exe: str) -> list[int]:
    """The live processes running `exe`."""
    pids = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            if os.readlink(d / "exe") == exe and (d / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                pids.append(int(d.name))
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue
    return pids


def _gdbus(*args: str) -> str:
    return subprocess.run(["gdbus", "call", "--session", *args], capture_output=True, text=True, timeout=10, check=True).stdout


def _exports_tray_item(pid: int) -> bool:
    """Whether a connection of process `pid` serves the org.kde.StatusNotifierItem interface."""
    names = re.findall(r"'(:[0-9.]+)'", _gdbus("--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus", "--method", "org.freedesktop.DBus.ListNames"))
    for name in names:
        try:
            owner = _gdbus("--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus", "--method", "org.freedesktop.DBus.GetConnectionUnixProcessID", name)
        except subprocess.CalledProcessError:
            continue
        if f"(uint32 {pid},)" not in owner:
            continue
        tree = subprocess.run(["gdbus", "introspect", "--session", "--dest", name, "--object-path", "/", "--recurse"], capture_output=True, text=True, timeout=10)
        if "org.kde.StatusNotifierItem" in tree.stdout:
            return True
    time.sleep(0.3)
    return False
