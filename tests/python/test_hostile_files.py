"""Files and processes (issue 14, items 4 and 5): what the gateway writes is its owner's
alone, a config's mode survives a rewrite, upstream output cannot put control bytes in the
log, and a child that ignores the end of its input still dies with a SIGKILLed gateway."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import harness
from trustkit import McpSession, cli, wait_until

pytestmark = pytest.mark.gateway

HOSTILE = Path(__file__).parent / "fixtures" / "hostile_upstream.py"


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def hostile_table(env: dict | None = None) -> str:
    return harness.server_table("h", command=sys.executable, args=[str(HOSTILE)], env=env)


def test_the_data_folder_and_its_files_are_private(gateway) -> None:
    gw = gateway(hostile_table())
    with McpSession(gw.url) as s:
        s.call("h__stderr", {"text": "a line\n"})
    home = gw.home
    wait_until(lambda: (home / "logs" / "h.log").exists(), "the upstream's log")
    assert mode(home) == 0o700, oct(mode(home))
    for f in ["portcullis.db", "admin.token", "gateway.json", "logs/h.log"]:
        assert mode(home / f) == 0o600, f"{f}: {oct(mode(home / f))}"


def test_control_bytes_from_an_upstream_are_escaped_in_its_log(gateway) -> None:
    gw = gateway(hostile_table())
    with McpSession(gw.url) as s:
        s.call("h__stderr", {"text": "before\x1b[2J\rafter\x07\n"})
    log = gw.home / "logs" / "h.log"
    wait_until(lambda: log.exists() and "after" in log.read_text(), "the line in the log")
    text = log.read_bytes()
    assert b"\x1b" not in text and b"\r" not in text and b"\x07" not in text, text
    assert b"before\\u{1b}[2J\\u{d}after\\u{7}" in text, text


@pytest.mark.parametrize("start_mode", [0o600, 0o640])
def test_a_rewritten_config_keeps_its_mode(gateway, start_mode: int) -> None:
    gw = gateway("")
    config = gw.home / "config.toml"
    os.chmod(config, start_mode)
    cli(gw.home, "upstream", "add", "--name", "t", "--command", sys.executable, "--args", str(HOSTILE))
    assert "[servers.t]" in config.read_text()
    assert mode(config) == start_mode, oct(mode(config))


def test_a_child_that_ignores_eof_dies_with_a_killed_gateway(gateway) -> None:
    gw = gateway(hostile_table({"HOSTILE_IGNORE_EOF": "1"}))
    pid = {v["name"]: v["pid"] for v in harness.admin_call(gw, "GET", "servers")}["h"]
    assert pid and Path(f"/proc/{pid}").exists()
    os.kill(gw.proc.pid, signal.SIGKILL)
    gw.proc.wait()

    def gone() -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        except FileNotFoundError:
            return True
        return state == "Z"

    wait_until(gone, f"upstream {pid} to die with its gateway", timeout=10)


def test_a_symlinked_client_config_is_edited_at_its_target_and_undo_touches_only_its_own(gateway, tmp_path) -> None:
    """A dotfile manager's symlink stays a symlink (the file it points at gets the entry), and
    a record rewritten to name another file makes undo refuse, leaving that file alone."""
    import hashlib
    import json

    from admin import Admin

    person = tmp_path / "person"
    real = person / "dotfiles" / "cursor-mcp.json"
    real.parent.mkdir(parents=True)
    real.write_text(json.dumps({"mcpServers": {"mine": {"command": "mine-server"}}}))
    link = person / ".cursor" / "mcp.json"
    link.parent.mkdir()
    link.symlink_to(real)
    gw = gateway("", trust=False, extra_env={"HOME": str(person), "XDG_CONFIG_HOME": str(person / ".config")})
    admin = Admin.of(gw)

    done = admin.post("clients/cursor/install", {})
    assert done.status_code == 200, done.text
    assert link.is_symlink() and link.resolve() == real.resolve(), "the symlink was replaced"
    servers = json.loads(real.read_text())["mcpServers"]
    assert set(servers) == {"mine", "portcullis"}, servers

    # Someone rewrites the install record to name another file, with that file's hash.
    victim = person / "precious.txt"
    victim.write_text("keep me")
    record_path = gw.home / "clients" / "cursor.json"
    saved = record_path.read_text()
    forged = json.loads(saved)
    forged["path"] = str(victim)
    forged["written_sha256"] = hashlib.sha256(b"keep me").hexdigest()
    record_path.write_text(json.dumps(forged))
    refused = admin.post("clients/cursor/undo", {})
    assert refused.status_code >= 400 and "not the" in refused.text, refused.text
    assert victim.read_text() == "keep me"

    # With its own record, undo takes the entry out of the file the link points at.
    record_path.write_text(saved)
    undone = admin.post("clients/cursor/undo", {})
    assert undone.status_code == 200, undone.text
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert json.loads(real.read_text())["mcpServers"] == {"mine": {"command": "mine-server"}}
