"""HTTP upstreams: server-everything over streamable HTTP and over the legacy HTTP+SSE
transport, configured as `url` with transport = "streamable-http", "sse" and "auto".

The matching transports and `auto` must work end to end (list tools, call
`everything__echo`); a transport that does not match the server must fail visibly
(backoff, with the URL and the HTTP status in last_error), not hang or pretend."""

from __future__ import annotations

import collections

import pytest
from mcp import Client

import harness
from admin import Admin

pytestmark = [pytest.mark.anyio, pytest.mark.gateway]

# server-everything's tools that exist from the start (registered before `initialize`).
ALWAYS = {
    "echo",
    "get-annotated-message",
    "get-env",
    "get-resource-links",
    "get-resource-reference",
    "get-structured-content",
    "get-sum",
    "get-tiny-image",
    "gzip-file-as-resource",
    "toggle-simulated-logging",
    "toggle-subscriber-updates",
    "trigger-long-running-operation",
}
# Registered when `notifications/initialized` arrives (server/index.js `oninitialized`); most of them
# only because Portcullis declares sampling, elicitation and roots upstream.
AT_INITIALIZED = {"simulate-research-query", "get-roots-list", "trigger-sampling-request", "trigger-elicitation-request"}

# (how server-everything serves, the gateway's transport) -> does it work?
COMBINATIONS = [
    ("streamableHttp", "streamable-http", True),
    ("streamableHttp", "auto", True),
    ("streamableHttp", "sse", False),
    ("sse", "sse", True),
    ("sse", "auto", True),
    ("sse", "streamable-http", False),
]


@pytest.mark.parametrize(
    ("served", "transport"),
    [(s, t) for s, t, works in COMBINATIONS if works],
    ids=[f"{s}-as-{t}" for s, t, works in COMBINATIONS if works],
)
async def test_http_upstream_lists_and_calls_tools(gateway, served: str, transport: str) -> None:
    with harness.everything_http(served) as peer:
        gw = gateway(harness.http_upstream("everything", peer.url, transport))
        async with Client(gw.url, mode="legacy", read_timeout_seconds=30) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            expected = {f"everything__{t}" for t in ALWAYS}
            assert expected <= names, f"missing {sorted(expected - names)}; the gateway lists {sorted(names)}"

            echo = await client.call_tool("everything__echo", {"message": f"over {served} as {transport}"})
            assert not echo.is_error, echo
            assert harness.text_of(echo) == f"Echo: over {served} as {transport}"

            total = await client.call_tool("everything__get-sum", {"a": 2, "b": 3})
            assert harness.text_of(total) == "The sum of 2 and 3 is 5."

        view = Admin.of(gw).server("everything")
        assert view["state"] == "ready", view
        assert view["transport"] == transport, view
        assert view["protocol_version"] == "2025-11-25", view
        assert view["tools"] == len([n for n in names if n.startswith("everything__")]), view


@pytest.mark.parametrize(
    ("served", "transport", "status"),
    [("streamableHttp", "sse", "400"), ("sse", "streamable-http", "404")],
    ids=["streamableHttp-as-sse", "sse-as-streamable-http"],
)
def test_mismatched_transport_fails_visibly(gateway, served: str, transport: str, status: str) -> None:
    with harness.everything_http(served) as peer:
        gw = gateway(harness.http_upstream("everything", peer.url, transport))
        view = Admin.of(gw).wait_for(
            "everything", lambda s: s["state"] == "backoff" and s["last_error"], "in backoff with an error", timeout=15
        )
        assert peer.url in view["last_error"], view
        assert f"HTTP {status}" in view["last_error"], view
        assert view["tools"] == 0, view


async def test_streamable_http_and_sse_upstreams_side_by_side(gateway) -> None:
    """One gateway, both transports, plus a stdio upstream: each answers for its own tools."""
    with harness.everything_http("streamableHttp") as http_peer, harness.everything_http("sse") as sse_peer:
        gw = gateway(
            harness.http_upstream("viahttp", http_peer.url, "streamable-http")
            + harness.http_upstream("viasse", sse_peer.url, "sse")
            + harness.time_stdio()
        )
        async with Client(gw.url, mode="legacy", read_timeout_seconds=30) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            for want in ("viahttp__echo", "viasse__echo", "time__get_current_time"):
                assert want in names, f"{want} missing from {sorted(names)}"
            for server in ("viahttp", "viasse"):
                r = await client.call_tool(f"{server}__echo", {"message": server})
                assert harness.text_of(r) == f"Echo: {server}", r


SESSIONS = 10


@pytest.mark.xfail(
    strict=True,
    reason="gateway bug: over streamable HTTP the handshake's `tools/list` is POSTed concurrently with "
    "`notifications/initialized`, so it often overtakes it and misses the tools server-everything registers "
    "at `initialized` (and the list_changed that follows is lost before the GET stream opens); "
    "see /work/patches/e2e-streamable-initialized-order.diff",
)
def test_streamable_http_upstream_lists_the_same_tools_as_stdio(gateway) -> None:
    """The tool list of an upstream must not depend on a race. Over stdio, server-everything lists
    its capability-dependent tools too; over streamable HTTP each of SESSIONS upstream sessions must
    see the same list (one losing the race is enough to fail)."""
    with harness.everything_http("streamableHttp") as peer:
        config = harness.everything_stdio("stdio") + "".join(
            harness.http_upstream(f"http{i}", peer.url, "streamable-http") for i in range(SESSIONS)
        )
        gw = gateway(config)
        admin = Admin.of(gw)
        for name in ["stdio", *(f"http{i}" for i in range(SESSIONS))]:
            admin.wait_ready(name)
        resp = admin.get("tools")
        assert resp.status_code == 200, resp.text
        tools = collections.defaultdict(set)
        for t in resp.json():
            tools[t["server"]].add(t["tool"])
        assert ALWAYS | AT_INITIALIZED <= tools["stdio"], sorted(tools["stdio"])
        short = {name: sorted(tools["stdio"] - got) for name, got in tools.items() if got != tools["stdio"]}
        assert not short, f"streamable HTTP sessions that miss tools stdio lists: {short}"
