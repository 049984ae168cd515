"""Helpers for the quarantine (trust) tests: the mutable fixture server, a plain
JSON-RPC client for the gateway's MCP endpoint (so a test sees exact error codes),
the `portcullis` CLI, and the admin API's event stream.

See fixtures/mutable_server.py for what the fixture server does.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

import harness

MUTABLE_SERVER = Path(__file__).resolve().parent / "fixtures" / "mutable_server.py"

NOT_APPROVED = -32003
"""The JSON-RPC error code of a call to a tool that may not be called."""


def tool_def(name: str, description: str = "", *, properties: dict | None = None, annotations: dict | None = None) -> dict:
    """One MCP tool definition."""
    schema = {"type": "object", "properties": properties if properties is not None else {"text": {"type": "string"}}}
    t = {"name": name, "description": description or f"The {name} tool of the mutable fixture.", "inputSchema": schema}
    if annotations is not None:
        t["annotations"] = annotations
    return t


# --------------------------------------------------------------------------
# The fixture server's files
# --------------------------------------------------------------------------


@dataclass
class MutableFixture:
    """The files one mutable_server.py instance reads and writes."""

    dir: Path

    @classmethod
    def create(cls, dir: Path, tools: list[dict]) -> MutableFixture:
        dir.mkdir(parents=True, exist_ok=True)
        fx = cls(dir)
        fx.set_tools(tools)
        return fx

    @property
    def tools_path(self) -> Path:
        return self.dir / "tools.json"

    @property
    def calls_path(self) -> Path:
        return self.dir / "calls.jsonl"

    def set_tools(self, tools: list[dict]) -> None:
        """Rewrites the tools file atomically (the server notices within 50 ms)."""
        tmp = self.dir / "tools.json.tmp"
        tmp.write_text(json.dumps(tools, indent=1))
        os.replace(tmp, self.tools_path)

    def tools(self) -> list[dict]:
        return json.loads(self.tools_path.read_text())

    def calls(self) -> list[dict]:
        """Every tools/call the server received, in order."""
        if not self.calls_path.exists():
            return []
        return [json.loads(line) for line in self.calls_path.read_text().splitlines() if line.strip()]

    @property
    def starts_path(self) -> Path:
        return self.dir / "starts.log"

    def starts(self) -> int:
        """How many times the server process was launched."""
        if not self.starts_path.exists():
            return 0
        return len(self.starts_path.read_text().split())

    def argv(self) -> list[str]:
        return [
            str(MUTABLE_SERVER),
            "--tools", str(self.tools_path),
            "--calls", str(self.calls_path),
            "--starts", str(self.starts_path),
        ]  # fmt: skip

    def server_table(self, name: str) -> str:
        """The [servers.<name>] table that runs this fixture."""
        return harness.server_table(name, command=sys.executable, args=self.argv())


# --------------------------------------------------------------------------
# MCP over HTTP, one JSON-RPC message at a time
# --------------------------------------------------------------------------


class RpcError(Exception):
    def __init__(self, error: dict) -> None:
        super().__init__(f"JSON-RPC error {error.get('code')}: {error.get('message')}")
        self.code = error.get("code")
        self.message = error.get("message", "")
        self.data = error.get("data")


def _messages(resp: httpx2.Response) -> list[dict]:
    """The JSON-RPC messages of one POST's answer: a JSON body or an SSE stream."""
    ctype = resp.headers.get("content-type", "")
    if "text/event-stream" in ctype:
        out = []
        for line in resp.text.splitlines():
            if line.startswith("data:"):
                data = line[5:].strip()
                if data:
                    out.append(json.loads(data))
        return out
    if not resp.content:
        return []
    body = resp.json()
    return body if isinstance(body, list) else [body]


INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
}
"""A handshake-era `initialize`, as a raw client sends it."""


def post_mcp(url: str, body: dict, token: str | None = None, **headers: str) -> httpx2.Response:
    """One JSON-RPC POST to an MCP endpoint, with a client token if given."""
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream", **headers}
    if token:
        h["Authorization"] = f"Bearer {token}"
    return httpx2.post(url, headers=h, json=body, timeout=20, trust_env=False)


class McpSession:
    """A streamable-HTTP MCP session with the gateway, as a raw JSON-RPC client.

    `request()` returns the `result` or raises RpcError with the error's code and message.
    """

    def __init__(self, url: str, client_name: str = "portcullis-trust-tests", token: str | None = None) -> None:
        self.url = url
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx2.Client(timeout=60, trust_env=False, headers=auth)
        self.session_id: str | None = None
        self.next_id = 1
        self.request(
            "initialize",
            {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": client_name, "version": "1"}},
        )
        self.notify("notifications/initialized")

    def _post(self, body: dict) -> httpx2.Response:
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        resp = self.http.post(self.url, headers=headers, content=json.dumps(body))
        if sid := resp.headers.get("mcp-session-id"):
            self.session_id = sid
        return resp

    def request(self, method: str, params: dict | None = None) -> dict:
        rid = self.next_id
        self.next_id += 1
        body = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            body["params"] = params
        resp = self._post(body)
        assert resp.status_code == 200, f"{method}: HTTP {resp.status_code} {resp.text[:500]}"
        answer = [m for m in _messages(resp) if m.get("id") == rid]
        assert answer, f"{method}: no answer with id {rid} in {resp.text[:500]}"
        if "error" in answer[0]:
            raise RpcError(answer[0]["error"])
        return answer[0]["result"]

    def notify(self, method: str, params: dict | None = None) -> None:
        body = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            body["params"] = params
        resp = self._post(body)
        assert resp.status_code in (200, 202), f"{method}: HTTP {resp.status_code} {resp.text[:500]}"

    def tool_names(self) -> set[str]:
        return {t["name"] for t in self.request("tools/list")["tools"]}

    def call(self, name: str, arguments: dict | None = None) -> dict:
        return self.request("tools/call", {"name": name, "arguments": arguments or {}})

    def close(self) -> None:
        if self.session_id:
            try:
                self.http.delete(self.url, headers={"Mcp-Session-Id": self.session_id})
            except httpx2.HTTPError:
                pass
        self.http.close()

    def __enter__(self) -> McpSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def surface_url(gw: harness.Gateway, surface: str) -> str:
    """The MCP endpoint that forces `surface` ("direct" or "search")."""
    return f"{gw.url}/{surface}"


# --------------------------------------------------------------------------
# The CLI
# --------------------------------------------------------------------------


def cli(home: Path, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs `portcullis <args>` with PORTCULLIS_HOME=home (it finds a running gateway there)."""
    env = {**os.environ, "PORTCULLIS_HOME": str(home)}
    proc = subprocess.run(
        [str(harness.gateway_bin()), *args], env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if check:
        assert proc.returncode == 0, f"portcullis {' '.join(args)} exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    return proc


def cli_json(home: Path, *args: str):
    return json.loads(cli(home, *args).stdout)


# --------------------------------------------------------------------------
# Waiting
# --------------------------------------------------------------------------


def wait_until(predicate: Callable[[], object], what: str, timeout: float = 20.0, interval: float = 0.1):
    """Polls until `predicate()` is truthy and returns its value; fails naming `what` and the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")
        time.sleep(interval)


def tool_states(admin, server: str) -> dict[str, str]:
    """Tool name at the server → state, from GET tools?server=."""
    resp = admin.get(f"tools?server={server}")
    assert resp.status_code == 200, resp.text
    return {t["tool"]: t["state"] for t in resp.json()}


# --------------------------------------------------------------------------
# The admin API's event stream
# --------------------------------------------------------------------------


@dataclass
class EventStream:
    """GET <api_url>/events read on a thread; `events` fills with the decoded `gateway` events."""

    url: str
    token: str
    events: list[dict] = field(default_factory=list)
    opened: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _errors: queue.Queue = field(default_factory=queue.Queue)

    def start(self) -> EventStream:
        threading.Thread(target=self._run, name="admin-events", daemon=True).start()
        assert self.opened.wait(10), f"GET events did not open: {self._errors.queue}"
        return self

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        try:
            with httpx2.stream("GET", self.url, headers=headers, timeout=httpx2.Timeout(10, read=None), trust_env=False) as resp:
                if resp.status_code != 200:
                    self._errors.put(f"HTTP {resp.status_code}")
                    return
                self.opened.set()
                name = None
                for line in resp.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:") and name == "gateway":
                        self.events.append(json.loads(line[5:].strip()))
        except Exception as e:  # noqa: BLE001 (reported through `opened` / the waits)
            self._errors.put(repr(e))

    def wait_for(self, predicate: Callable[[dict], bool], what: str, timeout: float = 20.0) -> dict:
        found = wait_until(lambda: next((e for e in list(self.events) if predicate(e)), None), what, timeout)
        return found

    def stop(self) -> None:
        self._stop.set()
