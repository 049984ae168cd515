"""`isolation = "sandbox"` with an egress allow list (`network = ["HOST:PORT", ...]`),
end to end on the real kernel: the sandboxed server's network namespace has only
loopback, where the launcher's relay leads to the gateway's egress proxy; the proxy
resolves names itself and connects only to what the list allows.

- The prober (fixtures/egress_prober.py) reaches a test HTTP server on an allowed
  127.0.0.1 port through the proxy (plain HTTP and a CONNECT tunnel, by address and by
  a name the proxy resolves), is refused (403) for another local port and for a host
  not on the list, cannot connect without the proxy, cannot resolve names and cannot
  send a DNS query; the refused port's server never sees a connection.
- Each refusal is in the activity log with the server and the host.
- An MCP client lists and calls the sandboxed server's tools through the gateway.
- The list is part of the approval: an outside edit that adds a host stops the server
  until a person approves it again, and approving starts it with the new list.
- `upstream add --allow-host` writes the list; a bad entry is refused with a hint.

Skipped only when this kernel lacks a feature the sandbox needs, with the launcher's
reason (`portcullis sandbox-exec --check`).
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from mcp import Client

import harness
import trustkit as tk
from admin import Admin
from test_sandbox import missing_feature

pytestmark = [pytest.mark.anyio, pytest.mark.gateway]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
UNLISTED = "unlisted.portcullis-test.example"


@pytest.fixture(scope="module", autouse=True)
def kernel_can_sandbox() -> None:
    reason = missing_feature()
    if reason is not None:
        print(f"skipping: this kernel lacks a sandbox feature: {reason}")
        pytest.skip(f"this kernel lacks a feature the sandbox needs: {reason}")


class HttpServer:
    """An HTTP server on 127.0.0.1 that answers every GET with its name and counts them."""

    def __init__(self, name: str) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                owner.requests.append(self.path)
                body = f"hello from {name}\n".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.requests: list[str] = []
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def activity(home: Path) -> list[dict]:
    out = tk.cli(home, "activity", "--json", "--limit", "1000").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def prober(hosts: list[str]) -> str:
    """The prober as server `egress`, sandboxed, with `hosts` as its allow list."""
    return (
        "[servers.egress]\n"
        f"command = {json.dumps(sys.executable)}\n"
        'args = ["egress_prober.py"]\n'
        f"cwd = {json.dumps(str(FIXTURES))}\n"
        'isolation = "sandbox"\n'
        f"network = {json.dumps(hosts)}\n"
    )


async def test_an_allow_list_reaches_only_its_hosts_through_the_proxy_and_logs_refusals(gateway):
    allowed, other = HttpServer("allowed"), HttpServer("other")
    try:
        hosts = [f"127.0.0.1:{allowed.port}", f"localhost:{allowed.port}"]
        config = prober(hosts)
        gw = gateway(config)
        async with Client(gw.url, mode="legacy") as client:
            names = {t.name for t in (await client.list_tools()).tools}
            views = {v["name"]: v for v in harness.admin_call(gw, "GET", "servers")}
            assert "egress__reach" in names, {n: v.get("last_error") for n, v in views.items()}
            args = {"allowed_port": allowed.port, "other_port": other.port, "unlisted_host": UNLISTED, "unknown_name": UNLISTED}
            result = await client.call_tool("egress__reach", args)
            assert not result.is_error, harness.text_of(result)
            seen = json.loads(harness.text_of(result))

        assert seen["proxy"].startswith("http://127.0.0.1:"), seen
        # The allowed host answers, by address and by a name only the proxy resolves.
        assert seen["http_allowed"] == "200 hello from allowed", seen
        assert seen["connect_allowed"] == "HTTP/1.1 200 Connection established | hello from allowed", seen
        assert seen["connect_by_name"] == "HTTP/1.1 200 Connection established | hello from allowed", seen
        assert sorted(allowed.requests) == ["/plain", "/tunnel", "/tunnel"], allowed.requests
        # Another port and a host not on the list are refused; the other server saw nothing.
        assert seen["http_other"].startswith("403 the egress proxy of Portcullis:"), seen
        assert seen["connect_other_port"] == "HTTP/1.1 403 Forbidden", seen
        assert seen["connect_unlisted"] == "HTTP/1.1 403 Forbidden", seen
        assert other.requests == [], other.requests
        # Without the proxy there is no way out: the namespace's own loopback, no resolver.
        assert seen["direct"] == "ConnectionRefusedError", seen
        assert seen["resolve"] == "gaierror", seen
        assert seen["dns_query"] == "OSError", seen

        def refusals() -> list[dict]:
            return [e for e in activity(gw.home) if e.get("kind") == "call" and e.get("server") == "egress" and str(e.get("tool", "")).startswith("egress ")]

        def counted(rows: list[dict]) -> int:
            return sum(e.get("calls", 1) for e in rows)

        logged = tk.wait_until(lambda: (r := refusals()) and counted(r) >= 3 and r, "three egress refusals in the activity log")
        tools = {e["tool"] for e in logged}
        assert tools == {f"egress 127.0.0.1:{other.port}", f"egress {UNLISTED}:443"}, logged
        assert all(e["outcome"]["status"] == "blocked" for e in logged), logged
        # The refused plain-HTTP request and CONNECT to the same port are both counted.
        assert counted([e for e in logged if e["tool"] == f"egress 127.0.0.1:{other.port}"]) == 2, logged
    finally:
        allowed.close()
        other.close()


def test_another_host_on_the_list_needs_approval_again(gateway):
    hosts = ["127.0.0.1:9"]
    config = prober(hosts)
    gw = gateway(config)
    admin = Admin.of(gw)
    admin.wait_ready("egress")
    # An outside edit adds a host: the server stops and waits for a person.
    path, edit = gw.home / "config.toml", gw.home / "config.toml.edit"
    edit.write_text(path.read_text().replace(json.dumps(hosts), json.dumps(hosts + ["*.portcullis-test.example"])))
    os.replace(edit, path)
    # While its old process stops, the server is briefly not listed at all (the gateway
    # lists it again once the new one is made).
    tk.wait_until(
        lambda: admin.servers().get("egress", {}).get("state") == "pending",
        "the server to wait for approval after its list grew",
    )
    assert admin.server("egress")["pid"] is None, "it is not running with the new list"
    tk.cli(gw.home, "upstream", "approve", "--name", "egress")
    admin.wait_ready("egress")


def test_upstream_add_writes_an_allow_list_and_refuses_a_bad_entry(tmp_path):
    home = tmp_path / "home"
    home.mkdir()

    def cli(*args: str) -> subprocess.CompletedProcess:
        return tk.cli(home, *args, check=False)

    done = cli("upstream", "add", "--name", "gh", "--command", "npx", "--isolation", "sandbox",
               "--allow-host", "api.github.com", "--allow-host", "*.slack.com:443")
    assert done.returncode == 0, done.stderr
    text = (home / "config.toml").read_text()
    assert 'network = ["api.github.com", "*.slack.com:443"]' in text, text

    done = cli("upstream", "add", "--name", "web", "--command", "npx", "--isolation", "sandbox",
               "--allow-host", "https://api.github.com")
    assert done.returncode == 1
    assert "network entry `https://api.github.com` is a URL" in done.stderr and "hint:" in done.stderr, done.stderr
    assert "[servers.web]" not in (home / "config.toml").read_text()
