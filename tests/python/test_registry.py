"""The MCP Registry end to end, against a local registry of the project's own
(fixtures/registry_server.py: the v0.1 endpoints Portcullis uses, serving real
server.json documents validated against the published schema):

- `registry search` finds servers by text in their name or description; `registry show`
  prints a server's version, packages, remotes and the values it takes.
- `registry add` of an npm server lands it in quarantine (its tools pending, invisible to
  agents); once approved its tools are called through the gateway with the MCP client.
  The package is `npx -y @modelcontextprotocol/server-everything@2026.8.31`, which npm
  resolves to tests/node_modules; npm runs offline, so nothing is downloaded.
- A remote becomes a URL; a header the server.json marks secret is stored as a secret
  and only its name is written in config.toml; a required value not given is named with
  the flag to pass.
- A registry that cannot be reached is named with the `[registry] url` option.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client

import harness

pytestmark = [pytest.mark.anyio, pytest.mark.gateway]

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "registry_server.py"
TESTS = Path(__file__).resolve().parents[1]
EVERYTHING = "io.github.modelcontextprotocol/server-everything"
# npm may use only what is installed (tests/node_modules) or cached: never the network.
OFFLINE = {"npm_config_offline": "true"}


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The local registry's URL, and the file its requests are logged to."""
    log = tmp_path / "registry-requests.log"
    proc = subprocess.Popen(
        [sys.executable, str(FIXTURE)], stdout=subprocess.PIPE, text=True, env={**os.environ, "REGISTRY_LOG": str(log)}
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("REGISTRY "), f"the registry fixture did not start: {line!r}"
        yield line.split()[1], log
    finally:
        proc.terminate()
        proc.wait(10)


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # No session bus: secrets go to the encrypted file in the home, never a real keyring.
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env.update({"PORTCULLIS_HOME": str(home), **OFFLINE})
    return subprocess.run(
        [str(harness.gateway_bin()), *args], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def home_with(tmp_path: Path, url: str) -> Path:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(f'[registry]\nurl = "{url}"\n')
    return home


def test_search_finds_servers_by_name_or_description_and_show_prints_one(registry, tmp_path) -> None:
    url, log = registry
    home = home_with(tmp_path, url)
    found = cli(home, "registry", "search", "exercises all the features")
    assert found.returncode == 0, found.stderr
    assert EVERYTHING in found.stdout and "2026.8.31" in found.stdout
    assert "weather" not in found.stdout
    weather = cli(home, "registry", "search", "weather", "--json")
    names = [s["server"]["name"] for s in json.loads(weather.stdout)["servers"]]
    assert names == ["io.github.user/local-weather", "io.github.user/remote-weather", "io.github.user/weather"]

    shown = cli(home, "registry", "show", "io.github.user/local-weather")
    assert shown.returncode == 0, shown.stderr
    assert "npm @modelcontextprotocol/server-weather@1.0.0 (stdio)" in shown.stdout
    assert "API_KEY (secret)  (required)" in shown.stdout
    remote = cli(home, "registry", "show", "io.github.user/remote-weather")
    assert "remote:      streamable-http https://{host}/mcp" in remote.stdout
    assert "Authorization (secret)  (required)" in remote.stdout
    # The name's "/" is percent-encoded in the path, as the API asks.
    assert "/v0.1/servers/io.github.user%2Flocal-weather/versions/latest" in log.read_text()

    unknown = cli(home, "registry", "show", "io.github.user/nope")
    assert unknown.returncode == 1
    assert f"the registry at {url} has no server `io.github.user/nope`" in unknown.stderr
    assert "hint: `portcullis registry search TEXT`" in unknown.stderr


def test_a_registry_that_cannot_be_reached_names_the_url_and_the_option(tmp_path) -> None:
    home = home_with(tmp_path, f"http://127.0.0.1:{harness.free_port()}")
    out = cli(home, "registry", "search", "x")
    assert out.returncode == 1
    assert "cannot be reached" in out.stderr and "hint: check the network, or point `[registry] url`" in out.stderr


def test_a_remote_becomes_a_url_and_its_secret_header_a_secret_never_written_in_the_config(registry, tmp_path) -> None:
    url, _ = registry
    home = home_with(tmp_path, url)
    missing = cli(home, "registry", "add", "io.github.user/remote-weather")
    assert missing.returncode == 1
    assert "needs Authorization (secret)" in missing.stderr and "hint: give --env Authorization=…" in missing.stderr

    value = "Bearer rw-4f9a8c2e71d04b6b9e3f"
    out = cli(home, "registry", "add", "io.github.user/remote-weather", "--name", "weather", "--env", f"Authorization={value}")
    assert out.returncode == 0, out.stderr
    assert "as secret `weather.Authorization`" in out.stdout
    config = (home / "config.toml").read_text()
    assert 'url = "https://api.example.com/mcp"' in config
    assert 'transport = "streamable-http"' in config
    assert 'Authorization = { secret = "weather.Authorization" }' in config
    for path in home.rglob("*"):
        if path.is_file():
            assert value.encode() not in path.read_bytes(), f"{path} holds the secret"
    listed = json.loads(cli(home, "secret", "list", "--json").stdout)
    assert [(s["name"], s["used_by"]) for s in listed] == [("weather.Authorization", ["weather: header Authorization"])]


async def test_an_npm_server_from_the_registry_waits_in_quarantine_then_its_tools_are_called(gateway, registry) -> None:
    url, _ = registry
    # Started in tests/, so that npx finds the package in tests/node_modules.
    gw = gateway(f'[registry]\nurl = "{url}"\n', extra_env=OFFLINE, cwd=TESTS)
    # The admin API the web UI would use answers from the same registry.
    page = harness.admin_call(gw, "GET", "registry/servers?search=everything")
    assert [s["server"]["name"] for s in page["servers"]] == [EVERYTHING]
    shown = harness.admin_call(gw, "GET", f"registry/server?name={EVERYTHING}")
    assert shown["package_inputs"] == [] and shown["remote_inputs"] is None
    out = cli(gw.home, "registry", "add", EVERYTHING, "--name", "everything")
    assert out.returncode == 0, out.stderr
    assert "npm @modelcontextprotocol/server-everything@2026.8.31 (stdio)" in out.stdout
    assert 'args = ["-y", "@modelcontextprotocol/server-everything@2026.8.31", "stdio"]' in (gw.home / "config.toml").read_text()

    deadline = time.monotonic() + 60
    view: dict = {}
    while time.monotonic() < deadline:
        view = next((v for v in harness.admin_call(gw, "GET", "servers") if v["name"] == "everything"), {})
        if view.get("state") == "ready":
            break
        time.sleep(0.2)
    assert view.get("state") == "ready", view
    pending = harness.pending_shown(gw, "everything", view["tools"])
    assert any(t["name"] == "echo" for t in pending)
    async with Client(gw.url, read_timeout_seconds=30) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert not any(n.startswith("everything__") for n in names), "pending tools are invisible"

    harness.admin_call(gw, "POST", "servers/everything/approve", {"tools": pending, "confirm_high": True})
    async with Client(gw.url, read_timeout_seconds=30) as client:
        echo = await client.call_tool("everything__echo", {"message": "from the registry"})
        assert not echo.is_error
        assert harness.text_of(echo) == "Echo: from the registry"
