"""`isolation = "sandbox"` end to end, on the real kernel: the gateway starts a server
through its launcher (`portcullis sandbox-exec`: user, PID, mount and network
namespaces, Landlock, seccomp, limits), and a real MCP client lists and calls its tools.

- The prober (fixtures/sandbox_prober.py) tries, when called, to write outside its
  folders, read a key in a fake `~/.ssh` (the gateway's HOME), open a TCP connection to
  a port on 127.0.0.1 where this test listens, and write into an allowed `:rw` mount;
  sandboxed, each is refused but the mount write, and it sees only its own processes.
  The same prober without isolation does all four, so the refusals are the sandbox's.
- Real runtimes work inside: mcp-server-time (Python, a venv over a pyenv interpreter)
  and server-everything (Node) answer a tool call.
- `upstream add --isolation sandbox` writes the server; a sandbox option the sandbox
  cannot enforce (`cpus`) is refused with a hint.

Skipped only when this kernel lacks a feature the sandbox needs, with the launcher's
reason (`portcullis sandbox-exec --check`).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from mcp import Client

import harness
import trustkit as tk

pytestmark = [pytest.mark.anyio, pytest.mark.gateway]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NODE_MODULES = (harness.REPO_ROOT / "tests" / "node_modules").resolve()


def missing_feature() -> str | None:
    """Why the sandbox cannot run here, as the launcher says it, or None."""
    binary = harness.gateway_bin()
    if not binary.is_file():
        return None  # conftest skips gateway tests with its own reason
    done = subprocess.run([str(binary), "sandbox-exec", "--check"], capture_output=True, text=True, timeout=30)
    if done.returncode == 0:
        return None
    return done.stderr.strip() or f"sandbox-exec --check exited with {done.returncode}"


@pytest.fixture(scope="module", autouse=True)
def kernel_can_sandbox() -> None:
    reason = missing_feature()
    if reason is not None:
        print(f"skipping: this kernel lacks a sandbox feature: {reason}")
        pytest.skip(f"this kernel lacks a feature the sandbox needs: {reason}")


def toml(value) -> str:
    return json.dumps(value)


def prober(name: str, isolation: str | None, mount: Path) -> str:
    lines = [
        f"[servers.{name}]",
        f"command = {toml(sys.executable)}",
        f'args = ["sandbox_prober.py"]',
        f"cwd = {toml(str(FIXTURES))}",
    ]
    if isolation:
        lines += [f"isolation = {toml(isolation)}", f"mounts = [{toml(str(mount) + ':rw')}]"]
    return "\n".join(lines) + "\n"


class Listener:
    """A TCP port on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


async def test_the_sandbox_refuses_files_keys_and_network_but_the_mount_and_serves_tools(gateway, tmp_path):
    fake_home = tmp_path / "home"
    (fake_home / ".ssh").mkdir(parents=True)
    key = fake_home / ".ssh" / "id_rsa"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n")
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    listener = Listener()
    try:
        gw = gateway(
            prober("boxed", "sandbox", allowed) + prober("plain", None, allowed),
            extra_env={"HOME": str(fake_home)},
        )
        async with Client(gw.url, mode="legacy") as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert {"boxed__probe", "plain__probe"} <= names, names

            async def probe(server: str, outside: Path) -> dict:
                args = {"outside": str(outside), "secret": str(key), "port": listener.port, "mount": str(allowed)}
                result = await client.call_tool(f"{server}__probe", args)
                assert not result.is_error, harness.text_of(result)
                return json.loads(harness.text_of(result))

            boxed = await probe("boxed", tmp_path / "escaped.txt")
            assert boxed["write_outside"] == "PermissionError", boxed
            assert not (tmp_path / "escaped.txt").exists()
            assert boxed["read_secret"] == "PermissionError", boxed
            assert boxed["connect"] != "ok", boxed
            assert listener.accepted == 0
            assert boxed["write_mount"] == "ok", boxed
            assert (allowed / "from-sandbox.txt").read_text() == "written from the sandbox\n"
            assert boxed["write_tmp"] == "ok", boxed
            # Its own PID namespace: the init, the server and nothing of the host's.
            assert boxed["processes"] == ["1", "2"], boxed
            private_home = gw.home / "sandbox" / "boxed" / "home"
            assert boxed["home"] == str(private_home), boxed

            # The same program, not isolated, does all of it: the refusals were the sandbox's.
            plain = await probe("plain", tmp_path / "plain.txt")
            assert plain["write_outside"] == plain["read_secret"] == plain["connect"] == "ok", plain
            assert listener.accepted == 1
    finally:
        listener.close()


async def test_real_runtimes_serve_from_the_sandbox(gateway):
    config = (
        "[servers.time]\n"
        f"command = {toml(str(harness.TIME_SERVER))}\n"
        'args = ["--local-timezone", "UTC"]\n'
        'isolation = "sandbox"\n'
        "[servers.everything]\n"
        f"command = {toml(str(harness.EVERYTHING))}\n"
        'args = ["stdio"]\n'
        f"cwd = {toml(str(NODE_MODULES))}\n"
        'isolation = "sandbox"\n'
    )
    gw = gateway(config)
    async with Client(gw.url, mode="legacy") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        views = {v["name"]: v for v in harness.admin_call(gw, "GET", "servers")}
        assert {"time__get_current_time", "everything__echo"} <= names, {n: v.get("last_error") for n, v in views.items()}
        result = await client.call_tool("time__get_current_time", {"timezone": "Asia/Tokyo"})
        assert not result.is_error, harness.text_of(result)
        assert "Asia/Tokyo" in harness.text_of(result)
        result = await client.call_tool("everything__echo", {"message": "from the sandbox"})
        assert not result.is_error, harness.text_of(result)
        assert "from the sandbox" in harness.text_of(result)
    assert views["time"]["transport"] == "sandbox", views["time"]


def test_upstream_add_writes_a_sandboxed_server_and_refuses_what_it_cannot_enforce(tmp_path):
    home = tmp_path / "home"
    home.mkdir()

    def cli(*args: str) -> subprocess.CompletedProcess:
        return tk.cli(home, *args, check=False)

    done = cli("upstream", "add", "--name", "fs", "--command", "npx", "--args", "-y @modelcontextprotocol/server-filesystem /srv",
               "--isolation", "sandbox", "--network", "--mount", "/srv:rw", "--memory", "1g")
    assert done.returncode == 0, done.stderr
    text = (home / "config.toml").read_text()
    assert 'isolation = "sandbox"' in text and 'mounts = ["/srv:rw"]' in text and "network = true" in text, text

    done = cli("upstream", "add", "--name", "busy", "--command", "npx", "--isolation", "sandbox", "--cpus", "2")
    assert done.returncode == 1
    assert "cpus" in done.stderr and "hint:" in done.stderr and 'isolation = \\"docker\\"' not in done.stderr, done.stderr
