"""Client tokens on /mcp: `portcullis client add NAME` makes a bearer token for one
client (shown once, only its hash kept); once one exists, /mcp refuses HTTP requests
without a valid token (401 with a hint and `WWW-Authenticate: Bearer`), the activity log
and /metrics name the client by its token rather than by the name it claims, a session is
used only with the token that opened it, and `client rm` revokes at once. Against the
real gateway, the real MCP Python client and the real mcp-server-time.
"""

from __future__ import annotations

import json
import time

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import Implementation

import harness
import trustkit as tk
from admin import Admin

pytestmark = [pytest.mark.anyio, pytest.mark.gateway]





def authed(gw: harness.Gateway, token: str, claims: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30, trust_env=False)
    return Client(
        streamable_http_client(gw.url, http_client=http),
        mode="legacy",
        client_info=Implementation(name=claims, version="9.9"),
    )


async def test_a_client_token_names_the_caller_and_refuses_the_rest(gateway) -> None:
    gw = gateway(harness.time_stdio())
    # No token yet: /mcp works as it always did.
    assert tk.post_mcp(gw.url, tk.INIT).status_code == 200

    made = tk.cli(gw.home, "client", "add", "cursor", "--json", check=False)
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["token"]
    assert token.startswith("pc_")
    # Only its hash is kept.
    for path in gw.home.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), f"{path} holds the token"
    listed = tk.cli(gw.home, "client", "list", check=False)
    assert "cursor" in listed.stdout and token not in listed.stdout

    # Now a request without a token, or with a wrong one, is refused before it is read.
    for bad in (None, "pc_not-a-token"):
        resp = tk.post_mcp(gw.url, tk.INIT, bad)
        assert resp.status_code == 401, resp.text
        assert resp.headers["www-authenticate"].startswith("Bearer")
        message = resp.json()["error"]["message"]
        assert "portcullis client add" in message and "hint:" in message, message

    # With it, a real client works, and the log names it by its token, not its claim.
    async with authed(gw, token, claims="claude-code") as client:
        result = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
        assert not result.is_error
    admin = Admin.of(gw)
    deadline = time.monotonic() + 10
    calls: list[dict] = []
    while time.monotonic() < deadline and not calls:
        calls = [e for e in admin.get("activity").json() if e["kind"] == "call" and e.get("tool") == "get_current_time"]
        time.sleep(0.1)
    assert calls and calls[0].get("client") == "cursor" and calls[0]["client_name"] == "claude-code", json.dumps(calls)
    metrics = httpx2.get(
        admin.api_url.removesuffix("/api/v1") + "/metrics",
        headers={"Authorization": f"Bearer {admin.token}"},
        timeout=10,
        trust_env=False,
    ).text
    assert 'portcullis_client_calls_total{client="cursor",outcome="ok"} 1' in metrics, metrics

    # A session is used with the token that opened it, and no other.
    other = json.loads(tk.cli(gw.home, "client", "add", "zed", "--json", check=False).stdout)["token"]
    opened = tk.post_mcp(gw.url, tk.INIT, token)
    session = {"Mcp-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"}
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    assert tk.post_mcp(gw.url, ping, token, **session).status_code == 200
    assert tk.post_mcp(gw.url, ping, other, **session).status_code == 403

    # Removing the client revokes its token at once.
    removed = tk.cli(gw.home, "client", "rm", "cursor", check=False)
    assert removed.returncode == 0, removed.stderr
    assert tk.post_mcp(gw.url, tk.INIT, token).status_code == 401
    assert tk.post_mcp(gw.url, tk.INIT, other).status_code == 200
    missing = tk.cli(gw.home, "client", "rm", "cursor", check=False)
    assert missing.returncode == 1 and "hint: portcullis client list" in missing.stderr


async def test_require_client_token_refuses_everything_without_one(gateway) -> None:
    gw = gateway('[gateway]\nrequire_client_token = true\n\n' + harness.time_stdio())
    resp = tk.post_mcp(gw.url, tk.INIT)
    assert resp.status_code == 401 and "needs a client token" in resp.json()["error"]["message"]
    # And `false` takes requests without one even when tokens exist (a presented one is still checked).
    gw2 = gateway('[gateway]\nrequire_client_token = false\n\n' + harness.time_stdio())
    assert tk.cli(gw2.home, "client", "add", "cursor", check=False).returncode == 0
    assert tk.post_mcp(gw2.url, tk.INIT).status_code == 200
    assert tk.post_mcp(gw2.url, tk.INIT, "pc_wrong").status_code == 401
