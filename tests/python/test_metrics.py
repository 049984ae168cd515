"""`/metrics`: Prometheus's text format on the admin listener, behind the admin token,
read with Prometheus's own Python parser (prometheus_client), after real calls to
server-everything: calls by server, tool and outcome with latency histograms, search
latency, each upstream's state and restarts, tools waiting for approval, sessions.
"""

from __future__ import annotations

import httpx2
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from prometheus_client.parser import text_string_to_metric_families

import harness
from admin import Admin

pytestmark = [pytest.mark.anyio, pytest.mark.gateway]

EV = "everything__"


def scrape(admin: Admin) -> dict[str, object]:
    base = admin.api_url.removesuffix("/api/v1")
    resp = httpx2.get(f"{base}/metrics", headers={"Authorization": f"Bearer {admin.token}"}, timeout=10, trust_env=False)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4"), resp.headers
    assert_grouped(resp.text)
    return {f.name: f for f in text_string_to_metric_families(resp.text)}


def assert_grouped(text: str) -> None:
    """The format wants every sample right after its own family's TYPE line, each family
    in one group (Prometheus refuses a scrape that interleaves them)."""
    family = None
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            family = line.split()[2]
        elif line and not line.startswith("#"):
            name = line.split("{")[0].split(" ")[0]
            suffixes = ("", "_total", "_bucket", "_sum", "_count")
            assert family and any(name == family + s for s in suffixes), f"{name} outside its family (after {family})"


def samples(families: dict, family: str, sample: str | None = None, **labels: str) -> list[float]:
    f = families[family]
    return [s.value for s in f.samples if (sample is None or s.name == sample) and all(s.labels.get(k) == v for k, v in labels.items())]


async def test_metrics_count_calls_searches_states_and_approvals(gateway) -> None:
    # With a limit, so that the load gauges are there too.
    gw = gateway(harness.everything_stdio() + "max_concurrent = 4\n")
    admin = Admin.of(gw)
    base = admin.api_url.removesuffix("/api/v1")
    # The admin token guards it like the rest of the admin listener.
    assert httpx2.get(f"{base}/metrics", timeout=10, trust_env=False).status_code == 401

    resp = admin.post("servers/everything/block", {"tools": ["get-sum"]})
    assert resp.status_code == 200, resp.text
    async with Client(gw.url, mode="legacy") as client:
        for n in range(3):
            result = await client.call_tool(EV + "echo", {"message": f"hello {n}"})
            assert not result.is_error
        with pytest.raises(MCPError):
            await client.call_tool(EV + "get-sum", {"a": 1, "b": 2})
        assert admin.get("search?q=add%20two%20numbers").status_code == 200

        families = scrape(admin)
        assert samples(families, "portcullis_tool_calls", "portcullis_tool_calls_total", server="everything", tool="echo", outcome="ok") == [3.0]
        assert samples(families, "portcullis_tool_calls", "portcullis_tool_calls_total", server="everything", tool="get-sum", outcome="blocked") == [1.0]
        latency = "portcullis_tool_call_duration_seconds"
        assert families[latency].type == "histogram"
        assert samples(families, latency, latency + "_count", server="everything", tool="echo") == [3.0]
        buckets = [s for s in families[latency].samples if s.name == latency + "_bucket" and s.labels["tool"] == "echo"]
        assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == 3.0
        assert all(a.value <= b.value for a, b in zip(buckets, buckets[1:])), "buckets are cumulative"
        assert samples(families, "portcullis_search_duration_seconds", "portcullis_search_duration_seconds_count")[0] >= 1

        assert samples(families, "portcullis_upstream_up", server="everything") == [1.0]
        assert samples(families, "portcullis_upstream_state", server="everything", state="ready") == [1.0]
        assert samples(families, "portcullis_upstream_restarts", "portcullis_upstream_restarts_total", server="everything") == [0.0]
        assert samples(families, "portcullis_sessions")[0] >= 1
        assert samples(families, "portcullis_session_queue_bytes")[0] >= 0
        assert samples(families, "portcullis_tools_pending_approval") == [0.0]
        assert samples(families, "portcullis_upstream_requests_running", server="everything") == [0.0]
        assert samples(families, "portcullis_upstream_requests_waiting", server="everything") == [0.0]


async def test_a_new_server_shows_its_tools_waiting_for_approval(gateway) -> None:
    gw = gateway(harness.everything_stdio(), trust=False)
    admin = Admin.of(gw)
    admin.approve_server("everything")
    admin.wait_ready("everything")
    families = await anyio_wait_for_pending(admin)
    assert samples(families, "portcullis_tools_pending_approval")[0] >= 5


async def anyio_wait_for_pending(admin: Admin) -> dict:
    import anyio

    with anyio.fail_after(20):
        while True:
            families = scrape(admin)
            if samples(families, "portcullis_tools_pending_approval")[0] > 0:
                return families
            await anyio.sleep(0.1)
