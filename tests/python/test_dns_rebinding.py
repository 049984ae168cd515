"""DNS-rebinding protection: the gateway answers only requests addressed to a loopback
name (Host) and coming from no web page or an allowed one (Origin: the gateway's own or the
desktop app's; any other page, local ones included, is refused), on the MCP endpoint
and on the admin API alike. Raw HTTP, so the Host and Origin bytes are exactly ours."""

from __future__ import annotations

import pytest

import harness
import rawhttp
from admin import Admin

pytestmark = pytest.mark.gateway


@pytest.fixture
def gw(gateway) -> harness.Gateway:
    return gateway("")  # no upstreams: these checks come before any routing


def post_initialize(gw: harness.Gateway, host: str | None, origin: str | None = None) -> rawhttp.RawResponse:
    headers = dict(rawhttp.MCP_HEADERS)
    if origin is not None:
        headers["Origin"] = origin
    return rawhttp.request(gw.port, "POST", "/mcp", host=host, headers=headers, body=rawhttp.initialize_body())


def get_servers(gw: harness.Gateway, host: str | None, origin: str | None = None) -> rawhttp.RawResponse:
    headers = {"Authorization": f"Bearer {Admin.of(gw).token}"}
    if origin is not None:
        headers["Origin"] = origin
    return rawhttp.request(gw.port, "GET", "/api/v1/servers", host=host, headers=headers)


@pytest.mark.parametrize(
    ("host", "origin", "blamed"),
    [
        ("evil.example", None, "evil.example"),
        ("evil.example:{port}", None, "evil.example"),
        ("localhost.evil.example:{port}", None, "localhost.evil.example"),
        ("localhost:{port}", "http://evil.example", "http://evil.example"),
        ("127.0.0.1:{port}", "http://localhost.evil.example:{port}", "localhost.evil.example"),
        (None, None, "Host"),
    ],
    ids=["host", "host-with-port", "host-lookalike", "origin", "origin-lookalike", "no-host"],
)
@pytest.mark.parametrize("endpoint", ["mcp", "admin-api"])
def test_foreign_host_or_origin_is_refused(gw, endpoint: str, host: str | None, origin: str | None, blamed: str) -> None:
    host = host.format(port=gw.port) if host else None
    origin = origin.format(port=gw.port) if origin else None
    send = post_initialize if endpoint == "mcp" else get_servers
    resp = send(gw, host, origin)
    assert resp.status == 403, f"Host {host!r}, Origin {origin!r}: expected 403, got {resp}"
    assert blamed.encode() in resp.body, f"the 403 does not say what was refused: {resp}"
    assert b"mcp-session-id" not in resp.body and "mcp-session-id" not in resp.headers


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("localhost:{port}", None),
        ("127.0.0.1:{port}", None),
        ("localhost:{port}", "http://localhost:{port}"),
        ("127.0.0.1:{port}", "http://127.0.0.1:{port}"),
    ],
    ids=["localhost", "127.0.0.1", "same-origin", "same-origin-ip"],
)
def test_loopback_host_is_served(gw, host: str, origin: str | None) -> None:
    host = host.format(port=gw.port)
    origin = origin.format(port=gw.port) if origin else None

    mcp = post_initialize(gw, host, origin)
    assert mcp.status == 200, str(mcp)
    assert mcp.headers.get("mcp-session-id"), f"initialize gave no session id: {mcp}"
    assert mcp.json()["result"]["serverInfo"]["name"] == "portcullis"

    api = get_servers(gw, host, origin)
    assert api.status == 200, str(api)
    assert api.json() == []


def test_admin_api_needs_the_token_even_from_loopback(gw) -> None:
    resp = rawhttp.request(gw.port, "GET", "/api/v1/servers", host=f"localhost:{gw.port}")
    assert resp.status == 401, str(resp)
    wrong = rawhttp.request(
        gw.port, "GET", "/api/v1/servers", host=f"localhost:{gw.port}", headers={"Authorization": "Bearer " + "0" * 64}
    )
    assert wrong.status == 401, str(wrong)
