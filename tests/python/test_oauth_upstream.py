"""An HTTP upstream behind OAuth, end to end through the gateway.

The upstream is fixtures/oauth_server.py: an MCP server that refuses every request without
a token it issued, with its own authorization server (metadata, dynamic registration,
authorization code with PKCE, refresh tokens), which approves at once. The test plays the
person: it runs `portcullis upstream login`, opens the URL it prints the way a browser
would (GET, following the redirect to the gateway's callback), and checks:

- before sign-in the server is `needs-sign-in` with the URL, in the admin API and in
  `portcullis upstream list`, and a call gets an error that says to sign in;
- after sign-in a tool call goes through;
- a restarted gateway reuses the stored sign-in (no second authorization), refreshing the
  expired access token with its refresh token;
- no token appears in the gateway's log;
- a legacy HTTP+SSE upstream behind the same sign-in is signed in to the same way;
- behind DPoP with nonces (`--dpop-nonce`), both transports sign in, send again with the
  server's nonce when it asks for one, and serve calls;
- `portcullis stdio`, spawned by a client, signs in through its own loopback listener.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

import harness
from admin import Admin

pytestmark = [pytest.mark.anyio, pytest.mark.gateway]

LIFETIME = 3.0  # seconds an access token lives at the fixture


@pytest.fixture
def oauth_upstream(tmp_path: Path):
    """Starts the fixture; yields (its MCP URL, its events file)."""
    events = tmp_path / "events.jsonl"
    with harness.oauth_fixture(events, "--token-lifetime", str(LIFETIME)) as url:
        yield url, events


@pytest.fixture
def dpop_upstream(tmp_path: Path):
    """The fixture with DPoP-bound tokens and nonces; yields (its MCP URL, its events file)."""
    events = tmp_path / "events.jsonl"
    with harness.oauth_fixture(events, "--dpop-nonce") as url:
        yield url, events


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def cli(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PORTCULLIS_HOME": str(home)}
    return subprocess.run([str(harness.gateway_bin()), *args], env=env, capture_output=True, text=True, timeout=timeout)


async def test_sign_in_call_and_reuse_after_restart(oauth_upstream) -> None:
    url, events = oauth_upstream
    config = '[gateway]\nsurface = "direct"\n\n' + harness.http_upstream("remote", url, transport="streamable-http")
    base = Path(tempfile.mkdtemp(prefix="portcullis-oauth-"))
    gw = harness.start_gateway(config, base, trust=False)
    try:
        admin = Admin.of(gw)
        admin.approve_server("remote")

        # Before sign-in: a visible state with the URL, and errors that say what to do.
        view = admin.wait_for("remote", lambda s: s["state"] == "needs-sign-in", "waiting for sign-in")
        assert view["sign_in_url"].startswith(url.removesuffix("/mcp") + "/authorize?"), view
        assert "code_challenge_method=S256" in view["sign_in_url"]
        listed = cli(gw.home, "upstream", "list")
        assert listed.returncode == 0, listed.stderr
        assert "needs-sign-in" in listed.stdout and "portcullis upstream login --name remote" in listed.stdout, listed.stdout
        async with Client(gw.url, mode="legacy") as client:
            with pytest.raises(MCPError) as refused:
                await client.call_tool("remote__whoami", {})
            assert "needs sign-in" in str(refused.value) and "portcullis upstream login --name remote" in str(refused.value), refused.value
        assert [e["event"] for e in read_events(events)].count("authorize") == 0

        # The person signs in: `upstream login` prints the URL and waits; the browser follows it.
        env = {**os.environ, "PORTCULLIS_HOME": str(gw.home)}
        login = subprocess.Popen([str(harness.gateway_bin()), "upstream", "login", "--name", "remote", "--no-browser", "--timeout", "60"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert login.stdout is not None
        sign_in_url = ""
        while not sign_in_url:
            line = login.stdout.readline()
            assert line, f"`upstream login` printed no URL: {login.stderr.read() if login.stderr else ''}"
            if line.strip().startswith("http"):
                sign_in_url = line.strip()
        assert sign_in_url == view["sign_in_url"], "the login command must show the sign-in that is waiting"
        with urllib.request.urlopen(sign_in_url, timeout=20) as page:  # noqa: S310 (loopback fixture)
            assert page.status == 200
            assert "Signed in" in page.read().decode()
        out, err = login.communicate(timeout=60)
        assert login.returncode == 0, f"{out}\n{err}"
        assert "signed in" in out

        admin.wait_ready("remote")
        admin.approve_tools("remote")
        async with Client(gw.url, mode="legacy") as client:
            result = await client.call_tool("remote__whoami", {})
            assert not result.is_error, harness.text_of(result)
            assert harness.text_of(result) == "hello from behind OAuth"
    finally:
        gw.stop()

    kinds = [e["event"] for e in read_events(events)]
    assert kinds.count("register") == 1 and kinds.count("authorize") == 1, kinds
    first = [e for e in read_events(events) if e["event"] == "authorize"][0]
    assert first["resource"] == url and first["scope"] == "tools" and first["method"] == "S256", first

    # A restarted gateway (same home) signs in with what it stored, after the access token expired.
    # The wait is for the token's lifetime to pass (a clock condition, not the gateway's).
    time.sleep(LIFETIME + 0.5)
    gw = harness.start_gateway(config, base, trust=False)
    try:
        admin = Admin.of(gw)
        admin.wait_ready("remote")
        async with Client(gw.url, mode="legacy") as client:
            result = await client.call_tool("remote__whoami", {})
            assert harness.text_of(result) == "hello from behind OAuth", harness.text_of(result)
        log = gw.stderr_text()
    finally:
        gw.stop()
    after = read_events(events)
    kinds = [e["event"] for e in after]
    assert kinds.count("authorize") == 1, f"a second sign-in was asked for: {kinds}"
    assert any(e["event"] == "token" and e["grant_type"] == "refresh_token" for e in after), kinds
    assert "Bearer " not in log and "access_token" not in log, "a token may have reached the log"


async def test_a_legacy_sse_upstream_asks_for_sign_in_too(oauth_upstream, gateway) -> None:
    """The same server over the legacy HTTP+SSE transport: its stream's GET answers 401, the
    gateway waits for the person's sign-in, then opens the stream with the token."""
    url, events = oauth_upstream
    sse_url = url.removesuffix("/mcp") + "/sse"
    gw = gateway('[gateway]\nsurface = "direct"\n\n' + harness.http_upstream("old", sse_url, transport="sse"), trust=False)
    admin = Admin.of(gw)
    admin.sign_in_as_a_person("old")
    async with Client(gw.url, mode="legacy") as client:
        result = await client.call_tool("old__whoami", {})
        assert harness.text_of(result) == "hello from behind OAuth", harness.text_of(result)
    authorized = [e for e in read_events(events) if e["event"] == "authorize"]
    assert len(authorized) == 1 and authorized[0]["resource"] == sse_url, authorized


@pytest.mark.parametrize(("transport", "path", "posts_to"), [("sse", "/sse", "/messages/"), ("streamable-http", "/mcp", "/mcp")])
async def test_an_upstream_behind_dpop_with_nonces_signs_in_and_serves_calls(dpop_upstream, gateway, transport: str, path: str, posts_to: str) -> None:
    """Both transports sign in the same way (one implementation): the token request is sent
    again with the authorization server's nonce, the first request with the token is sent
    again with the resource server's nonce, and so is each request after the server moved
    its nonce on (every `whoami` does), for legacy SSE both the stream's GET and the POSTs."""
    url, events = dpop_upstream
    target = url.removesuffix("/mcp") + path
    gw = gateway('[gateway]\nsurface = "direct"\n\n' + harness.http_upstream("remote", target, transport=transport), trust=False)
    admin = Admin.of(gw)
    admin.sign_in_as_a_person("remote")
    async with Client(gw.url, mode="legacy") as client:
        for _ in range(3):
            result = await client.call_tool("remote__whoami", {})
            assert not result.is_error and harness.text_of(result) == "hello from behind OAuth", harness.text_of(result)

    seen = read_events(events)
    rejected = [e for e in seen if e["event"] == "rejected"]
    # Nothing but the two reasons a well-behaved client meets: no token yet, and a nonce to use.
    assert {e["why"] for e in rejected} <= {"no token", "use_dpop_nonce"}, rejected
    nonce_at = [(e["method"], e["path"]) for e in rejected if e["why"] == "use_dpop_nonce"]
    assert ("POST", "/token") in nonce_at, nonce_at
    # Calls 2 and 3 each found the nonce moved on, and were sent again.
    assert nonce_at.count(("POST", posts_to)) >= 2, nonce_at
    if transport == "sse":
        assert ("GET", "/sse") in nonce_at, nonce_at
    assert [e["event"] for e in seen].count("authorize") == 1
    assert any(e["event"] == "token" and e["grant_type"] == "authorization_code" for e in seen)


def test_the_servers_page_offers_sign_in_and_a_browser_completes_it(oauth_upstream, gateway) -> None:
    """The web UI's Servers page shows the waiting sign-in as a "Sign in" link; a real
    browser following it comes back to the gateway's callback, and the server starts."""
    import browser as br

    missing = br.missing_reason()
    if missing:
        pytest.skip(missing)
    url, events = oauth_upstream
    gw = gateway('[gateway]\nsurface = "direct"\n\n' + harness.http_upstream("remote", url, transport="streamable-http"), trust=False)
    admin = Admin.of(gw)
    admin.approve_server("remote")
    view = admin.wait_for("remote", lambda s: s["state"] == "needs-sign-in", "waiting for sign-in")
    with br.Browser.start() as b:
        b.goto(f"http://127.0.0.1:{gw.port}/ui/")
        b.wait("#token-input")
        b.fill("#token-input", admin.token)
        b.click("#token-submit")
        b.gone("#token-dialog")
        row = '[data-server="remote"]'
        b.wait(row, "needs sign-in")
        href = b.eval("document.querySelector('[data-server=\"remote\"] a.btn').getAttribute('href')")
        assert href == view["sign_in_url"]
        assert b.text(f'{row} a.btn') == "Sign in"
        b.goto(href)  # the authorization server approves at once and redirects to the gateway
        b.wait("h1", "Signed in")
        b.goto(f"http://127.0.0.1:{gw.port}/ui/")
        b.wait('[data-server="remote"][data-state="ready"]', timeout=30)
        errors = [e for e in b.errors() if "Failed to load resource" not in e]
        assert not errors, errors
    assert [e["event"] for e in read_events(events)].count("authorize") == 1


async def test_a_stdio_gateway_signs_in_through_its_own_listener(oauth_upstream, tmp_path) -> None:
    """A client that can only spawn commands runs `portcullis stdio`: the sign-in URL in its
    error leads the browser back to a loopback port of that process, and the call then works."""
    url, events = oauth_upstream
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[gateway]\nsurface = "direct"\n\n' + harness.http_upstream("remote", url, transport="streamable-http"))
    params = StdioServerParameters(command=str(harness.gateway_bin()), args=["stdio"], env={**os.environ, "PORTCULLIS_HOME": str(home)})

    async def call_until(check, what: str):
        deadline = time.monotonic() + 30
        last = ""
        while time.monotonic() < deadline:
            try:
                result = await client.call_tool("remote__whoami", {})
                last = harness.text_of(result)
            except MCPError as e:
                last = str(e)
            if (found := check(last)) is not None:
                return found
            await anyio.sleep(0.3)
        raise AssertionError(f"{what}; last answer: {last}")

    async with Client(params, mode="legacy") as client:
        # The person approves the server (the gateway sees the database change), and it asks for sign-in.
        approved = cli(home, "upstream", "approve", "--name", "remote")
        assert approved.returncode == 0, approved.stderr
        sign_in_url = await call_until(lambda text: m.group(1) if (m := re.search(r"needs sign-in at (http\S+)", text)) else None, "no sign-in URL in the error")
        redirect = urllib.parse.parse_qs(urllib.parse.urlparse(sign_in_url).query)["redirect_uri"][0]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/oauth/callback", redirect), redirect
        with urllib.request.urlopen(sign_in_url, timeout=20) as page:  # noqa: S310 (loopback fixture)
            assert "Signed in" in page.read().decode()
        # Signed in: its tools are listed and wait for approval like any new tool.
        await call_until(lambda text: True if "approv" in text else None, "the tool was not listed after sign-in")
        approved = cli(home, "upstream", "approve", "--name", "remote", "--all-tools")
        assert approved.returncode == 0, approved.stderr
        await call_until(lambda text: text if text == "hello from behind OAuth" else None, "the call did not go through after sign-in")
    assert [e["event"] for e in read_events(events)].count("authorize") == 1
