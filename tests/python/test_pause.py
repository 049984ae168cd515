"""Pausing the gateway (the tray's Pause, or POST <api_url>/gateway/pause): no agent
request reaches a server until it is resumed. Calls get JSON-RPC -32004 saying so and
how to resume (stateless 2026-07-28 requests too); initialize, server/discover, ping
and tools/list still answer, so clients stay connected;
the server keeps running, so resuming is instant. The event stream says it changed."""

from __future__ import annotations

import pytest

import harness
import trustkit as tk
from admin import Admin
from test_modern import answer, post
from trustkit import EventStream, McpSession

pytestmark = pytest.mark.gateway

GATEWAY_PAUSED = -32004


def test_paused_gateway_refuses_calls_until_resumed(gateway):
    gw = gateway(harness.everything_stdio())
    admin = Admin.of(gw)
    admin.wait_ready("everything")
    events = EventStream(f"{admin.api_url}/events", admin.token).start()
    with McpSession(f"{gw.url}/direct") as s:
        assert "everything__echo" in s.tool_names()
        assert admin.get("gateway").json() == {"paused": False}
        pid = admin.server("everything")["pid"]

        assert admin.post("gateway/pause", {}).json() == {"paused": True}
        events.wait_for(lambda e: e.get("type") == "pause_changed" and e.get("paused") is True, "pause_changed")
        with pytest.raises(tk.RpcError) as refused:
            s.call("everything__echo", {"message": "while paused"})
        assert refused.value.code == GATEWAY_PAUSED
        assert "Portcullis is paused" in refused.value.message and "resume" in refused.value.message
        # Clients stay connected and see the tools; the server is not stopped.
        assert "everything__echo" in s.tool_names()
        s.request("ping")
        with McpSession(f"{gw.url}/direct", client_name="joins-while-paused") as late:
            assert "everything__echo" in late.tool_names()
        assert admin.server("everything")["pid"] == pid
        # Stateless (2026-07-28) clients likewise: discovery answers, calls are refused.
        assert "result" in answer(post(gw.url, "server/discover"))
        stateless = answer(post(f"{gw.url}/direct", "tools/call", {"name": "everything__echo", "arguments": {"message": "x"}}))
        assert stateless["error"]["code"] == GATEWAY_PAUSED, stateless

        assert admin.post("gateway/resume", {}).json() == {"paused": False}
        result = s.call("everything__echo", {"message": "resumed"})
        assert result["content"][0]["text"] == "Echo: resumed"
    events.stop()
