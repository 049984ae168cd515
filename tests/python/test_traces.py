"""Traces: with `[telemetry] otlp_endpoint` set, each tool call becomes OpenTelemetry
spans exported over OTLP/HTTP, received here by a collector built on the official
OpenTelemetry protocol package (opentelemetry-proto), which decodes each export as the
protocol's own `ExportTraceServiceRequest`.

The client is the real Python MCP SDK, which puts its trace context (W3C `traceparent`)
in each request's `_meta`; the upstreams record what they were given: a stdio server
its `_meta`, an HTTP server its `_meta` and its headers. So the test checks the chain
client → gateway → upstream by ids, not by names alone. Without `[telemetry]` no
exporter runs (no exporter thread in the gateway) and the client's context passes
through unchanged.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import httpx2
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

import harness
from admin import Admin

pytestmark = [pytest.mark.anyio, pytest.mark.gateway]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
CLIENT_SPAN = 0xB7AD6B7169203331
SERVER, CLIENT, INTERNAL = (
    trace_pb2.Span.SPAN_KIND_SERVER,
    trace_pb2.Span.SPAN_KIND_CLIENT,
    trace_pb2.Span.SPAN_KIND_INTERNAL,
)


class Collector:
    """An OTLP/HTTP trace receiver: POST /v1/traces with a protobuf body."""

    def __init__(self) -> None:
        self.spans: list[tuple[dict, trace_pb2.Span]] = []  # (resource attributes, span)
        self.content_types: list[str] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != "/v1/traces":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                request = trace_service_pb2.ExportTraceServiceRequest()
                request.ParseFromString(body)
                with collector.lock:
                    collector.content_types.append(self.headers.get("Content-Type", ""))
                    for rs in request.resource_spans:
                        resource = {a.key: a.value.string_value for a in rs.resource.attributes}
                        for ss in rs.scope_spans:
                            collector.spans.extend((resource, s) for s in ss.spans)
                reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate, what: str, timeout: float = 20.0) -> list[trace_pb2.Span]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                spans = [s for _, s in self.spans]
            found = [s for s in spans if predicate(s)]
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"no span {what} within {timeout} s; got {[s.name for s in spans]}")


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.server.shutdown()


@contextmanager
def trace_http(calls: Path) -> Iterator[str]:
    port = harness.free_port()
    proc = subprocess.Popen(
        [sys.executable, str(FIXTURES / "trace_http.py"), str(port)],
        env={"TRACE_HTTP_CALLS": str(calls), "PATH": "/usr/bin:/bin"},
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        harness._wait_for_port(port, proc, "trace_http.py", 20)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        harness._stop(proc)


def described(calls: Path, description: Path) -> str:
    description.write_text("Reads one gauge of the test rig.")
    return harness.server_table(
        "described",
        command=sys.executable,
        args=[str(FIXTURES / "described_server.py")],
        env={"DESCRIBED_SERVER_FILE": str(description), "DESCRIBED_SERVER_CALLS": str(calls)},
    )


@contextmanager
def in_client_trace() -> Iterator[None]:
    """Runs the block inside a trace of the client's (trace TRACE_ID, span CLIENT_SPAN),
    so the MCP SDK puts that context in each request's `_meta`."""
    parent = otel_trace.NonRecordingSpan(
        otel_trace.SpanContext(
            trace_id=TRACE_ID, span_id=CLIENT_SPAN, is_remote=False, trace_flags=otel_trace.TraceFlags(1)
        )
    )
    token = otel_context.attach(otel_trace.set_span_in_context(parent))
    try:
        yield
    finally:
        otel_context.detach(token)


def attrs(span: trace_pb2.Span) -> dict:
    out = {}
    for a in span.attributes:
        v = a.value
        out[a.key] = v.string_value if v.HasField("string_value") else v.int_value if v.HasField("int_value") else v
    return out


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def traceparent(trace_id: bytes, span_id: bytes) -> str:
    return f"00-{trace_id.hex()}-{span_id.hex()}-01"


def exporter_threads(pid: int) -> list[str]:
    names = []
    for comm in Path(f"/proc/{pid}/task").glob("*/comm"):
        try:
            names.append(comm.read_text().strip())
        except OSError:
            pass
    return [n for n in names if n.startswith("OpenTelemetry")]


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_a_call_is_traced_from_client_through_gateway_to_upstream(gateway, collector, tmp_path, mode) -> None:
    stdio_calls, http_calls = tmp_path / "stdio.jsonl", tmp_path / "http.jsonl"
    with trace_http(http_calls) as http_url:
        config = (
            f'[telemetry]\notlp_endpoint = "{collector.url}"\nservice_name = "portcullis-test"\n\n'
            + described(stdio_calls, tmp_path / "description.txt")
            + harness.http_upstream("remote", http_url)
        )
        gw = gateway(config)
        assert exporter_threads(gw.proc.pid), "an exporter runs when an endpoint is set"
        async with Client(gw.url, mode=mode) as client:
            with in_client_trace():
                result = await client.call_tool("described__steady", {})
                assert not result.is_error, result
                result = await client.call_tool("remote__whoami", {})
                assert not result.is_error, result

        client_parent = CLIENT_SPAN.to_bytes(8, "big")
        trace_id = TRACE_ID.to_bytes(16, "big")
        for downstream, server, tool, calls in (
            ("described__steady", "described", "steady", stdio_calls),
            ("remote__whoami", "remote", "whoami", http_calls),
        ):
            # The gateway's span of the client's request: a child of the client's span.
            [incoming] = collector.wait_for(lambda s: s.name == f"tools/call {downstream}", f"for {downstream}")
            assert incoming.kind == SERVER
            assert incoming.trace_id == trace_id and incoming.parent_span_id == client_parent
            a = attrs(incoming)
            assert a["mcp.method.name"] == "tools/call" and a["gen_ai.tool.name"] == downstream
            assert a["gen_ai.operation.name"] == "execute_tool"
            assert a["portcullis.server"] == server and a["portcullis.tool"] == tool
            assert a["portcullis.outcome"] == "ok" and a["mcp.session.id"]
            assert a["network.transport"] == "tcp"
            assert incoming.status.code != trace_pb2.Status.STATUS_CODE_ERROR
            # Its request to the upstream: a client span inside it.
            [outgoing] = collector.wait_for(
                lambda s: s.name == f"tools/call {tool}" and s.parent_span_id == incoming.span_id, f"to {server}"
            )
            assert outgoing.kind == CLIENT and outgoing.trace_id == trace_id
            assert attrs(outgoing)["portcullis.server"] == server
            assert outgoing.start_time_unix_nano >= incoming.start_time_unix_nano
            assert outgoing.end_time_unix_nano <= incoming.end_time_unix_nano
            # The upstream was told that span is its parent.
            [call] = lines(calls)
            meta = call.get("meta", call.get("_meta"))
            assert meta["traceparent"] == traceparent(trace_id, outgoing.span_id), meta
        # An HTTP upstream also gets it as a header.
        [http_call] = lines(http_calls)
        assert http_call["traceparent"] == http_call["meta"]["traceparent"]
        with collector.lock:
            resources = [r for r, s in collector.spans if s.name == "tools/call described__steady"]
        assert resources[0]["service.name"] == "portcullis-test"
        assert all(ct == "application/x-protobuf" for ct in collector.content_types)


async def test_a_refused_call_and_header_context_are_traced(gateway, collector, tmp_path) -> None:
    stdio_calls = tmp_path / "stdio.jsonl"
    config = f'[telemetry]\notlp_endpoint = "{collector.url}/v1/traces"\n\n' + described(
        stdio_calls, tmp_path / "description.txt"
    )
    gw = gateway(config)
    admin = Admin.of(gw)
    resp = admin.post("servers/described/block", {"tools": ["gauge"]})
    assert resp.status_code == 200, resp.text
    async with Client(gw.url, mode="legacy") as client:
        with in_client_trace(), pytest.raises(MCPError):
            await client.call_tool("described__gauge", {"reading": 1})
    [refused] = collector.wait_for(lambda s: s.name == "tools/call described__gauge", "for the refused call")
    assert attrs(refused)["portcullis.outcome"] == "blocked"
    assert refused.status.code == trace_pb2.Status.STATUS_CODE_ERROR
    assert not lines(stdio_calls), "a refused call never reaches the upstream"
    # Nothing went upstream, so no client span.
    with collector.lock:
        assert not [s for _, s in collector.spans if s.parent_span_id == refused.span_id and s.kind == CLIENT]

    # A client that sends its trace context only as HTTP headers (no `_meta`) is parented too.
    header_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    header_span = "00f067aa0ba902b7"
    with httpx2.Client(timeout=20, trust_env=False) as http:
        base = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        init = http.post(
            gw.url,
            headers=base,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
            },
        )
        session = {"Mcp-Session-Id": init.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"}
        http.post(gw.url, headers={**base, **session}, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        call = http.post(
            gw.url,
            headers={**base, **session, "traceparent": f"00-{header_trace}-{header_span}-01"},
            json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "described__steady", "arguments": {}}},
        )
        assert call.status_code == 200, call.text
    [incoming] = collector.wait_for(
        lambda s: s.name == "tools/call described__steady" and s.trace_id.hex() == header_trace, "from the header"
    )
    assert incoming.parent_span_id.hex() == header_span
    [forwarded] = lines(stdio_calls)
    assert forwarded["_meta"]["traceparent"].split("-")[1] == header_trace


async def test_starting_a_sleeping_server_is_a_span_of_the_call(collector, tmp_path) -> None:
    stdio_calls = tmp_path / "stdio.jsonl"
    config = harness.direct_unless_said(
        f'[telemetry]\notlp_endpoint = "{collector.url}"\n\n'
        + described(stdio_calls, tmp_path / "description.txt")
        + 'start = "on-demand"\n'
    )
    base = tmp_path / "gw"
    # Seen and approved once; after a restart it sleeps until the call.
    harness.start_gateway(config, base).stop()
    gw = harness.start_gateway(config, base, trust=False)
    try:
        assert Admin.of(gw).server("described")["state"] == "idle"
        async with Client(gw.url, mode="legacy") as client:
            result = await client.call_tool("described__steady", {})
            assert not result.is_error, result
        [incoming] = collector.wait_for(lambda s: s.name == "tools/call described__steady", "of the call")
        assert incoming.parent_span_id == b"", "a call without trace context starts a trace"
        [start] = collector.wait_for(lambda s: s.name == "start described", "of the start")
        [outgoing] = collector.wait_for(lambda s: s.name == "tools/call steady", "to the upstream")
        assert start.kind == INTERNAL and outgoing.kind == CLIENT
        assert start.parent_span_id == incoming.span_id == outgoing.parent_span_id
        assert start.end_time_unix_nano <= outgoing.start_time_unix_nano
    finally:
        gw.stop()


async def test_no_exporter_runs_without_an_endpoint(gateway, tmp_path) -> None:
    stdio_calls = tmp_path / "stdio.jsonl"
    gw = gateway(described(stdio_calls, tmp_path / "description.txt"))
    async with Client(gw.url, mode="legacy") as client:
        with in_client_trace():
            result = await client.call_tool("described__steady", {})
            assert not result.is_error
    assert exporter_threads(gw.proc.pid) == []
    # The client's own context passes through as it was sent.
    [forwarded] = lines(stdio_calls)
    assert forwarded["_meta"]["traceparent"] == traceparent(TRACE_ID.to_bytes(16, "big"), CLIENT_SPAN.to_bytes(8, "big"))
