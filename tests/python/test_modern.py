"""The stateless protocol era (2026-07-28) through the gateway.

- The Python SDK in `mode="2026-07-28"` and `mode="auto"` against the gateway, with
  server-everything (handshake era) and mcp-server-time behind it: the gateway
  translates server-everything's sampling, elicitation and roots requests into
  `input_required` results, and the SDK's retries carry the answers back.
- Raw HTTP, to see exact codes, statuses and bodies: `server/discover`, the envelope
  and header checks, `resultType` and caching hints, the `input_required` round trip
  (tampered state, missing responses), `subscriptions/listen`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import anyio
import httpx2
import pytest
from mcp import Client

import harness
import trustkit
from test_protocol import EV, Peer

pytestmark = [pytest.mark.anyio, pytest.mark.gateway, pytest.mark.filterwarnings("ignore::Warning")]

V = "2026-07-28"
CLIENT_META = {
    "io.modelcontextprotocol/protocolVersion": V,
    "io.modelcontextprotocol/clientInfo": {"name": "portcullis-modern-tests", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {"sampling": {}, "elicitation": {"form": {}, "url": {}}, "roots": {}},
}
NAME_PARAM = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


@pytest.fixture(scope="module")
def gw(tmp_path_factory) -> Iterator[harness.Gateway]:
    g = harness.start_gateway(harness.everything_stdio() + "\n" + harness.time_stdio(), tmp_path_factory.mktemp("modern"))
    try:
        yield g
    finally:
        g.stop()


# --------------------------------------------------------------------------
# Raw stateless requests
# --------------------------------------------------------------------------


def messages(resp: httpx2.Response) -> list[dict]:
    return trustkit._messages(resp)


def post(url: str, method: str, params: dict | None = None, *, meta: dict | None = CLIENT_META, headers: dict | None = None, rid=1) -> httpx2.Response:
    """One stateless request with the envelope and routing headers a conforming client sends
    (`meta=None`: no `_meta` at all; a `_meta` in `params` wins)."""
    params = dict(params or {})
    if meta is not None and "_meta" not in params:
        params["_meta"] = meta
    h = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": V,
        "Mcp-Method": method,
    }
    if (key := NAME_PARAM.get(method)) and key in params:
        h["Mcp-Name"] = params[key]
    h.update(headers or {})
    body = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
    with httpx2.Client(timeout=60, trust_env=False) as http:
        return http.post(url, headers=h, content=json.dumps(body))


def answer(resp: httpx2.Response, rid=1) -> dict:
    found = [m for m in messages(resp) if m.get("id") == rid]
    assert found, f"no answer with id {rid}: HTTP {resp.status_code} {resp.text[:500]}"
    return found[0]


def test_discover(gw) -> None:
    resp = post(gw.url, "server/discover")
    assert resp.status_code == 200, resp.text
    assert "mcp-session-id" not in resp.headers
    result = answer(resp)["result"]
    assert result["supportedVersions"] == [V]
    assert result["capabilities"]["tools"] == {"listChanged": True}
    assert "prompts" in result["capabilities"] and "resources" in result["capabilities"]
    assert result["resultType"] == "complete"
    assert result["ttlMs"] == 0 and result["cacheScope"] == "private"
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "portcullis"


def test_results_carry_result_type_and_cache_hints(gw) -> None:
    for method in ["tools/list", "prompts/list", "resources/list", "resources/templates/list"]:
        result = answer(post(gw.url, method))["result"]
        assert result["resultType"] == "complete", method
        assert result["ttlMs"] == 0 and result["cacheScope"] == "private", method
    uri = answer(post(gw.url, "resources/list"))["result"]["resources"][0]["uri"]
    read = answer(post(gw.url, "resources/read", {"uri": uri}))["result"]
    assert read["contents"] and read["ttlMs"] == 0 and read["cacheScope"] == "private"
    call = answer(post(gw.url, "tools/call", {"name": EV + "echo", "arguments": {"message": "x"}}))["result"]
    assert call["resultType"] == "complete" and "ttlMs" not in call
    assert call["content"][0]["text"] == "Echo: x"


@pytest.mark.parametrize(
    ("case", "params", "headers", "status", "code"),
    [
        ("no _meta", None, {}, 400, -32602),
        ("no capabilities", {"_meta": {"io.modelcontextprotocol/protocolVersion": V}}, {}, 400, -32602),
        ("method header differs", {}, {"Mcp-Method": "tools/call"}, 400, -32020),
        ("version header differs", {"_meta": {**CLIENT_META, "io.modelcontextprotocol/protocolVersion": "v999"}}, {}, 400, -32020),
    ],
)
def test_envelope_is_checked(gw, case, params, headers, status, code) -> None:
    resp = post(gw.url, "tools/list", params, meta=None if params is None else CLIENT_META, headers=headers, rid=7)
    assert resp.status_code == status, (case, resp.text)
    error = answer(resp, rid=7)["error"]
    assert error["code"] == code, (case, error)


def test_unsupported_version_names_the_supported_ones(gw) -> None:
    meta = {**CLIENT_META, "io.modelcontextprotocol/protocolVersion": "v999.0.0"}
    resp = post(gw.url, "server/discover", {"_meta": meta}, headers={"MCP-Protocol-Version": "v999.0.0"}, rid=3)
    assert resp.status_code == 400
    error = answer(resp, rid=3)["error"]
    assert error["code"] == -32022
    assert error["data"] == {"supported": [V], "requested": "v999.0.0"}


def test_name_header_must_match(gw) -> None:
    resp = post(gw.url, "tools/call", {"name": EV + "echo", "arguments": {"message": "x"}}, headers={"Mcp-Name": EV + "get-sum"})
    assert resp.status_code == 400
    assert answer(resp)["error"]["code"] == -32020


@pytest.mark.parametrize("method", ["initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe", "unknown/method"])
def test_handshake_era_methods_do_not_exist(gw, method) -> None:
    resp = post(gw.url, method, rid=11)
    assert resp.status_code == 404, resp.text
    assert answer(resp, rid=11)["error"]["code"] == -32601


def test_notifications_get_202_and_get_or_delete_get_405(gw) -> None:
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": V}
    with httpx2.Client(timeout=30, trust_env=False) as http:
        note = http.post(gw.url, headers=h, content=json.dumps({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}))
        assert note.status_code == 202
        assert http.get(gw.url, headers={**h, "Accept": "text/event-stream"}).status_code == 405
        assert http.delete(gw.url, headers=h).status_code == 405


# --------------------------------------------------------------------------
# input_required: a modern client in front of a handshake-era upstream
# --------------------------------------------------------------------------


def test_elicitation_becomes_input_required_and_the_retry_completes(gw) -> None:
    first = answer(post(gw.url, "tools/call", {"name": EV + "trigger-elicitation-request", "arguments": {}}))["result"]
    assert first["resultType"] == "input_required", first
    [(key, request)] = first["inputRequests"].items()
    assert key.startswith("elicitation-")
    assert request["method"] == "elicitation/create"
    assert request["params"]["requestedSchema"]["type"] == "object"
    state = first["requestState"]

    tampered = post(gw.url, "tools/call", {"name": EV + "trigger-elicitation-request", "arguments": {}, "inputResponses": {key: {"action": "accept", "content": {}}}, "requestState": state[:-1] + "x"})
    assert tampered.status_code == 400 and answer(tampered)["error"]["code"] == -32602

    # A retry that lacks the response is asked again, with unknown keys ignored.
    again = answer(post(gw.url, "tools/call", {"name": EV + "trigger-elicitation-request", "arguments": {}, "inputResponses": {"nonsense": {"action": "decline"}}, "requestState": state}))["result"]
    assert again["resultType"] == "input_required" and list(again["inputRequests"]) == [key]

    done = answer(post(gw.url, "tools/call", {"name": EV + "trigger-elicitation-request", "arguments": {}, "inputResponses": {key: {"action": "accept", "content": {"color": "blue", "number": 3, "pets": "cats"}}}, "requestState": again["requestState"]}))["result"]
    assert done["resultType"] == "complete"
    assert "blue" in json.dumps(done["content"])


def test_input_responses_must_be_objects(gw) -> None:
    resp = post(gw.url, "tools/call", {"name": EV + "trigger-elicitation-request", "arguments": {}, "inputResponses": {"k": 12345}})
    assert resp.status_code == 400 and answer(resp)["error"]["code"] == -32602


def test_a_request_without_the_capability_is_not_asked(gw) -> None:
    meta = {**CLIENT_META, "io.modelcontextprotocol/clientCapabilities": {}}
    result = answer(post(gw.url, "tools/call", {"name": EV + "trigger-sampling-request", "arguments": {"prompt": "x", "maxTokens": 5}}, meta=meta))
    # The upstream was told the client cannot answer; its tool reports that.
    assert result.get("error") or result["result"].get("isError"), result
    assert "input_required" not in json.dumps(result)


@pytest.mark.parametrize("mode", [V, "auto"])
async def test_sdk_callbacks_answer_through_input_required(gw, mode: str) -> None:
    peer = Peer("alice")
    async with peer.client(gw.url, mode=mode) as client:
        assert client.protocol_version == V
        sampled = await client.call_tool(EV + "trigger-sampling-request", {"prompt": "hi", "maxTokens": 5})
        assert "answer from alice" in harness.text_of(sampled)
        elicited = await client.call_tool(EV + "trigger-elicitation-request", {})
        assert "green" in harness.text_of(elicited)
        url = await client.call_tool(EV + "trigger-url-elicitation", {"url": "https://example.com/ok", "elicitationId": "e-9"})
        assert "completed the URL elicitation" in harness.text_of(url)
        roots = await client.call_tool(EV + "get-roots-list", {})
        assert "file:///work/" in harness.text_of(roots)
        seen: list[float] = []

        async def progress(p: float, total: float | None, message: str | None) -> None:
            seen.append(p)

        done = await client.call_tool(EV + "trigger-long-running-operation", {"duration": 1, "steps": 3}, progress_callback=progress)
        assert not done.is_error and seen == [1, 2, 3]
    assert len(peer.sampled) == 1 and len(peer.elicited) == 2


# --------------------------------------------------------------------------
# mcp-server-time (a 2026-07-28 server) behind both kinds of client
# --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["legacy", V, "auto"])
async def test_time_server_behind_both_eras(gw, mode: str) -> None:
    async with Client(gw.url, mode=mode, read_timeout_seconds=30) as client:
        assert client.protocol_version == ("2025-11-25" if mode == "legacy" else V)
        result = await client.call_tool("time__convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"})
        assert not result.is_error, harness.text_of(result)
        assert result.structured_content["target"]["datetime"].endswith("T21:00:00+09:00")
        bad = await client.call_tool("time__get_current_time", {"timezone": "Nowhere/Else"})
        assert bad.is_error and "Invalid timezone" in harness.text_of(bad)


# --------------------------------------------------------------------------
# subscriptions/listen
# --------------------------------------------------------------------------


def test_listen_acknowledges_then_reports_tool_changes(gateway, tmp_path) -> None:
    fx = trustkit.MutableFixture.create(tmp_path / "fx", [trustkit.tool_def("one"), trustkit.tool_def("two")])
    gw = gateway(fx.server_table("fx"))
    frames: list[dict] = []
    got_change = threading.Event()
    acked = threading.Event()

    def listen() -> None:
        body = {"jsonrpc": "2.0", "id": "sub-1", "method": "subscriptions/listen", "params": {"_meta": CLIENT_META, "notifications": {"toolsListChanged": True, "promptsListChanged": True}}}
        h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": V, "Mcp-Method": "subscriptions/listen"}
        with httpx2.Client(timeout=30, trust_env=False) as http, http.stream("POST", gw.url, headers=h, content=json.dumps(body)) as resp:
            assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
            for line in resp.iter_lines():
                if line.startswith("data:"):
                    frames.append(json.loads(line[5:]))
                    acked.set()
                    if frames[-1].get("method") == "notifications/tools/list_changed":
                        got_change.set()
                        return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert acked.wait(10), "no acknowledgment"
    fx.set_tools([trustkit.tool_def("one")])  # an approved tool goes away: the list changes
    assert got_change.wait(15), f"no tools/list_changed on the stream: {frames}"
    ack, change = frames[0], frames[-1]
    assert ack["method"] == "notifications/subscriptions/acknowledged"
    # The fixture offers no prompts, so only the tools filter is honoured.
    assert ack["params"]["notifications"] == {"toolsListChanged": True}
    for frame in (ack, change):
        assert frame["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "sub-1"


# --------------------------------------------------------------------------
# A 2026-07-28 upstream: the conformance fixture (Python SDK), which answers
# input_required itself when spoken to statelessly
# --------------------------------------------------------------------------

FIXTURE = harness.REPO_ROOT / "tests" / "python" / "fixtures" / "conformance_server.py"


@pytest.fixture(scope="module")
def modern_upstream(tmp_path_factory) -> Iterator[harness.Gateway]:
    import sys

    g = harness.start_gateway(harness.server_table("fx", command=sys.executable, args=[str(FIXTURE)]), tmp_path_factory.mktemp("modern-upstream"))
    try:
        yield g
    finally:
        g.stop()


def test_the_gateway_speaks_2026_to_an_upstream_that_discovers(modern_upstream) -> None:
    servers = {v["name"]: v for v in harness.admin_call(modern_upstream, "GET", "servers")}
    assert servers["fx"]["protocol_version"] == V
    # mcp-server-time discovers too; server-everything only knows the handshake.


@pytest.mark.parametrize(
    ("case", "sent", "status"),
    [
        ("base64 of the argument", {"Mcp-Param-Region": "=?base64?SGVsbG8=?="}, 200),
        ("the argument itself, any case of the name", {"mcp-param-region": "Hello"}, 200),
        ("base64 without its padding", {"Mcp-Param-Region": "=?base64?SGVsbG8?="}, 400),
        ("base64 with characters outside the alphabet", {"Mcp-Param-Region": "=?base64?SGVs!!!bG8=?="}, 400),
        ("another value", {"Mcp-Param-Region": "Goodbye"}, 400),
        ("left out", {}, 400),
    ],
)
def test_param_headers_must_mirror_annotated_arguments(modern_upstream, case, sent, status) -> None:
    """A tool whose schema marks `region` with `x-mcp-header: Region`: a stateless call must
    carry `Mcp-Param-Region` saying the same as the argument, or it gets 400 and -32020 before
    it reaches the upstream."""
    listed = answer(post(modern_upstream.url, "tools/list"))["result"]["tools"]
    schema = next(t["inputSchema"] for t in listed if t["name"] == "fx__test_custom_header")
    assert schema["properties"]["region"]["x-mcp-header"] == "Region", "the annotation is listed as the upstream wrote it"
    resp = post(modern_upstream.url, "tools/call", {"name": "fx__test_custom_header", "arguments": {"region": "Hello"}}, headers=sent)
    assert resp.status_code == status, f"{case}: HTTP {resp.status_code} {resp.text[:300]}"
    got = answer(resp)
    if status == 200:
        assert got["result"]["content"][0]["text"] == "region: Hello", case
    else:
        assert got["error"]["code"] == -32020, case
        assert "Mcp-Param-Region" in got["error"]["message"], got["error"]["message"]


async def test_a_legacy_client_is_carried_through_input_required_rounds(modern_upstream) -> None:
    peer = Peer("alice")
    async with peer.client(modern_upstream.url, mode="legacy") as client:
        result = await client.call_tool("fx__test_input_required_result_multi_round", {})
    text = harness.text_of(result)
    assert not result.is_error and text.startswith("state-ok"), text
    # Two rounds, each an elicitation the gateway sent to the client as a real request.
    assert [e.message for e in peer.elicited] == ["Step 1: What is your name?", "Step 2: What is your favorite color?"]


def test_a_modern_client_sees_the_upstreams_own_input_required(modern_upstream) -> None:
    first = answer(post(modern_upstream.url, "tools/call", {"name": "fx__test_input_required_result_request_state", "arguments": {}}))["result"]
    assert first["resultType"] == "input_required"
    assert list(first["inputRequests"]) == ["confirm"]  # the upstream's key, untouched
    state = first["requestState"]
    done = answer(post(modern_upstream.url, "tools/call", {"name": "fx__test_input_required_result_request_state", "arguments": {}, "inputResponses": {"confirm": {"action": "accept", "content": {"ok": True}}}, "requestState": state}))["result"]
    assert done["resultType"] == "complete" and "state-ok" in done["content"][0]["text"]


async def test_legacy_subscriptions_reach_a_stateless_upstream_through_listen(modern_upstream) -> None:
    peer = Peer("p")
    async with peer.client(modern_upstream.url, mode="legacy") as client:
        await client.subscribe_resource("test://watched-resource")
        await client.call_tool("fx__test_trigger_resource_update", {})
        with anyio.fail_after(10):
            while not any(getattr(getattr(n, "root", n), "method", "") == "notifications/resources/updated" for n in peer.notifications):
                await anyio.sleep(0.05)
        await client.unsubscribe_resource("test://watched-resource")


@pytest.mark.parametrize("level", [None, "info", "error"])
async def test_log_messages_only_for_requests_that_opt_in(modern_upstream, level) -> None:
    """test_tool_with_logging logs three info messages during the call; a 2026-07-28
    request gets them only when its _meta opts in at or below info."""
    peer = Peer("alice")
    async with Client(modern_upstream.url, mode=V, log_level=level, logging_callback=peer.log) as c:
        await c.call_tool("fx__test_tool_with_logging", {})
        # The SDK runs notification callbacks in their own task: the last one may run just
        # after call_tool returns, although the gateway sent it before the result.
        for _ in range(40):
            if len(peer.logs) >= 3:
                break
            await anyio.sleep(0.05)
    texts = [str(m.data) for m in peer.logs]
    if level == "info":
        assert texts == ["Tool execution started", "Tool processing data", "Tool execution completed"], texts
    else:
        assert texts == [], texts


async def test_log_messages_reach_a_legacy_client_during_its_call(modern_upstream) -> None:
    peer = Peer("alice")
    async with peer.client(modern_upstream.url, mode="legacy") as c:
        await c.set_logging_level("info")
        await c.call_tool("fx__test_tool_with_logging", {})
    assert [str(m.data) for m in peer.logs] == ["Tool execution started", "Tool processing data", "Tool execution completed"]
