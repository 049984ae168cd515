"""Hostile HTTP upstreams (issue 14, item 4): a legacy SSE server whose `endpoint` names
another origin, and a server that redirects to another origin. Neither may receive the
secret header configured for the server; a collector of our own records what arrives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import harness
from trustkit import wait_until

pytestmark = pytest.mark.gateway

FIXTURE = Path(__file__).parent / "fixtures" / "hostile_http.py"
SECRET = "s3cret-value-never-leaves"


@pytest.fixture
def hostile(tmp_path):
    started = []

    def start(mode: str):
        port, collector = harness.free_port(), harness.free_port()
        collected = tmp_path / f"collected-{mode}.jsonl"
        collected.write_text("")
        proc = subprocess.Popen([sys.executable, str(FIXTURE), str(port), str(collector), mode],
                                env={**os.environ, "COLLECTED": str(collected)}, start_new_session=True)
        started.append(proc)
        harness._wait_for_port(port, proc, "hostile_http", 10)
        harness._wait_for_port(collector, proc, "hostile_http collector", 10)
        return port, collected

    yield start
    for p in started:
        harness._stop(p)


def table(name: str, url: str, transport: str) -> str:
    return f'[servers.{name}]\nurl = "{url}"\ntransport = "{transport}"\nheaders = {{ X-Api-Key = "{SECRET}" }}\n'


def state_of(gw, name: str) -> dict:
    return {v["name"]: v for v in harness.admin_call(gw, "GET", "servers")}[name]


def test_a_legacy_sse_endpoint_on_another_origin_is_refused(gateway, hostile) -> None:
    port, collected = hostile("sse-endpoint")
    gw = gateway(table("sse", f"http://127.0.0.1:{port}/sse", "sse"))
    view = wait_until(lambda: (v := state_of(gw, "sse"))["last_error"] and v, "the server to fail", timeout=30)
    assert "another origin" in view["last_error"], view
    assert view["state"] != "ready"
    assert SECRET not in collected.read_text(), "the secret header reached another origin"


def test_a_redirect_to_another_origin_is_not_followed_with_the_secret(gateway, hostile) -> None:
    port, collected = hostile("redirect")
    gw = gateway(table("redir", f"http://127.0.0.1:{port}/mcp", "streamable-http"))
    view = wait_until(lambda: (v := state_of(gw, "redir"))["last_error"] and v, "the server to fail", timeout=30)
    assert view["state"] != "ready", view
    lines = [json.loads(l) for l in collected.read_text().splitlines() if l]
    assert not any(SECRET in json.dumps(l) for l in lines), lines
